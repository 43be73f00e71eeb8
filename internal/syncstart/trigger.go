package syncstart

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/nurture-sms/nurture/internal/store"
)

// Trigger is the activity (named "StartSync") that starts syncs on behalf
// of a Temporal Schedule (see workflows.ScheduledSync).
type Trigger struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
}

// StartSync starts the client's sync and returns its id, or "" when one is
// already running (the schedule's tick is then simply skipped).
func (a *Trigger) StartSync(ctx context.Context, clientID string) (string, error) {
	id, err := uuid.Parse(clientID)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("bad client id", "InvalidInput", err)
	}
	run, err := Start(ctx, a.Store, a.Temporal, a.TaskQueue, id, "schedule", "")
	var running *RunningError
	switch {
	case errors.As(err, &running):
		return "", nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrNoBase):
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	case err != nil:
		return "", err
	}
	return run.ID.String(), nil
}
