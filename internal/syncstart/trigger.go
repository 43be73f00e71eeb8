package syncstart

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/tasksync"
	"github.com/nurture-sms/nurture/workflows"
)

// Trigger is the activity (named "StartSync") that starts syncs on behalf
// of a Temporal Schedule (see workflows.ScheduledSync).
type Trigger struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	// TaskSyncWindow is the window of a task sync the trigger starts (0: 60 s).
	TaskSyncWindow time.Duration
}

// StartSync starts the client's full listing and returns its id or, when a
// sync is already running (an incremental apply, most often), queues a full
// re-run on it (the update-with-start of Request) and returns "": the
// scheduled safety net and the listing after a re-created webhook are never
// skipped because a sync happened to run.
func (a *Trigger) StartSync(ctx context.Context, clientID string) (string, error) {
	id, err := uuid.Parse(clientID)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("bad client id", "InvalidInput", err)
	}
	res, err := Request(ctx, a.Store, a.Temporal, a.TaskQueue, id, "schedule", "")
	if err == nil {
		a.pullTasks(ctx, id)
	}
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrNoBase):
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	case err != nil:
		return "", err
	case !res.Started:
		return "", nil
	}
	return res.SyncID, nil
}

// pullTasks has the client's task sync pull its Airtable Tasks table (the
// scheduled full listing's task pull, issue 12). A failure is logged by
// Temporal's client and never fails the trigger: the next tick tries again.
func (a *Trigger) pullTasks(ctx context.Context, clientID uuid.UUID) {
	cfg, err := a.Store.GetTaskSyncConfig(ctx, clientID)
	if err != nil || cfg.BaseID == "" {
		return
	}
	_ = tasksync.Nudge(ctx, a.Temporal, a.TaskQueue, clientID, cfg.ClientName, workflows.SignalTaskPull, a.TaskSyncWindow)
}
