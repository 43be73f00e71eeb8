package workflows_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/workflows"
)

// Every recorded history (cmd/histories, one file per workflow run) must
// replay with the current workflow code. A history stands for a workflow
// that is running somewhere (campaign timers wait for months): a change to a
// code path it takes without workflow.GetVersion makes its replay fail here
// with a non-determinism error.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories (go run ./cmd/histories -prefix v0)")
	}
	kinds := map[string]int{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		kinds[strings.SplitN(name, "-", 3)[1]]++
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(workflows.Campaign)
			r.RegisterWorkflow(workflows.AirtableSync)
			r.RegisterWorkflow(workflows.DeletionReview)
			r.RegisterWorkflow(workflows.ScheduledSync)
			r.RegisterWorkflow(workflows.DraftMessage)
			r.RegisterWorkflow(workflows.TaskSync)
			r.RegisterWorkflow(workflows.EnsureAirtableWebhook)
			logger := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
	// Every workflow type has histories to replay.
	for _, k := range []string{"campaign", "sync", "scheduled", "draft", "task", "webhook"} {
		if kinds[k] == 0 {
			t.Errorf("no recorded history of a %s workflow", k)
		}
	}
}

// The replay check can fail: the campaign workflow with one unversioned
// change (a timer before its first step) does not replay the recorded
// histories of workflows that ran the old code.
func TestReplayCatchesAnUnversionedChange(t *testing.T) {
	changed := func(ctx workflow.Context, in workflows.CampaignInput) (*workflows.CampaignResult, error) {
		if err := workflow.Sleep(ctx, time.Second); err != nil {
			return nil, err
		}
		return workflows.Campaign(ctx, in)
	}
	for _, name := range []string{"v0-campaign-immediate", "v1-campaign-immediate", "v2-campaign-paused", "v3-campaign-pause-resume"} {
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: "Campaign"})
			logger := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			err := r.ReplayWorkflowHistoryFromJSONFile(logger, filepath.Join("testdata", "histories", name+".json"))
			// TMPRL1100 is the SDK's code for a non-determinism error.
			if err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
				t.Fatalf("replaying %s with an unversioned change: %v, want a non-determinism error", name, err)
			}
		})
	}
}
