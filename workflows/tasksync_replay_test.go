package workflows_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/workflows"
)

// The task sync's recorded histories catch an unversioned change too.
func TestTaskSyncReplayCatchesAnUnversionedChange(t *testing.T) {
	changed := func(ctx workflow.Context, in workflows.TaskSyncInput) error {
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return err
		}
		return workflows.TaskSync(ctx, in)
	}
	for _, name := range []string{"v5-task-sync-push", "v5-task-sync-conflict", "v5-task-sync-force"} {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: "TaskSync"})
		logger := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
		err := r.ReplayWorkflowHistoryFromJSONFile(logger, filepath.Join("testdata", "histories", name+".json"))
		if err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
			t.Fatalf("replaying %s with an unversioned change: %v, want a non-determinism error", name, err)
		}
	}
}
