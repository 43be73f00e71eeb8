package temporalx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// UpdateTimeout bounds how long a caller waits for a workflow's verdict on
// an Update (a campaign cancel waits for the enrollment batch in flight).
const UpdateTimeout = 30 * time.Second

// Error types a workflow's Update validators and handlers refuse with
// (workflows.ErrTypeRefused, workflows.ErrTypeInvalid).
const (
	ErrTypeRefused = "Refused"
	ErrTypeInvalid = "InvalidInput"
)

// RefusedError is the workflow's own refusal of an Update, with its reason.
// Invalid marks bad input (the caller's fault) rather than a state that
// does not allow the action.
type RefusedError struct {
	Reason  string
	Invalid bool
}

func (e *RefusedError) Error() string { return e.Reason }

// ErrWorkflowGone: the workflow is closed (or never existed), so it could
// not take the Update.
var ErrWorkflowGone = errors.New("the workflow has ended")

// ErrNoVerdict: the workflow did not answer in time; the Update may still
// be carried out.
var ErrNoVerdict = errors.New("the workflow did not answer in time; the action may still be carried out")

// Update sends an Update and waits for the workflow's verdict, decoding the
// result into dst. The error is a *RefusedError when the workflow refused
// it (validator or handler), ErrWorkflowGone, ErrNoVerdict, or another
// error when Temporal could not be reached.
func Update(ctx context.Context, tc client.Client, workflowID, name string, arg, dst any) error {
	if tc == nil {
		return errors.New("temporal client not configured")
	}
	uctx, cancel := context.WithTimeout(ctx, UpdateTimeout)
	defer cancel()
	// One Update ID for every attempt: the server takes it at most once.
	updateID := uuid.NewString()
	var err error
	for attempt := 1; ; attempt++ {
		var handle client.WorkflowUpdateHandle
		handle, err = tc.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
			UpdateID: updateID, WorkflowID: workflowID, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = handle.Get(uctx, dst)
		}
		// The workflow's task failed as the Update arrived (say it was
		// completing at that moment: the server refuses the completion and
		// runs the task again, with the Update). The workflow may have taken
		// it since, and even closed: ask for this Update's own outcome.
		var notReady *serviceerror.WorkflowNotReady
		if attempt > 1 && errors.As(err, new(*serviceerror.NotFound)) {
			// Closed since: its history says whether it took this Update.
			if found, herr := outcomeFromHistory(uctx, tc, workflowID, updateID, dst); found || herr != nil {
				err = herr
			}
			break
		}
		if !errors.As(err, &notReady) || uctx.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Duration(min(attempt, 10)) * 50 * time.Millisecond):
		case <-uctx.Done():
		}
	}
	var appErr *temporal.ApplicationError
	var nf *serviceerror.NotFound
	var timeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &appErr) && appErr.Type() == ErrTypeInvalid:
		return &RefusedError{Reason: appErr.Message(), Invalid: true}
	case errors.As(err, &appErr) && appErr.Type() == ErrTypeRefused:
		return &RefusedError{Reason: appErr.Message()}
	case errors.As(err, &nf):
		return ErrWorkflowGone
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrNoVerdict, err)
	case errors.As(err, &appErr):
		// The handler failed for another reason (a step it could not do).
		return &RefusedError{Reason: "the workflow could not carry it out: " + appErr.Message()}
	default:
		return fmt.Errorf("update %s of %s: %w", name, workflowID, err)
	}
}

// outcomeFromHistory looks for the Update's outcome in the history of the
// workflow's last run (a closed workflow keeps it there). found is false
// when the workflow never took the Update (refusals are not recorded).
func outcomeFromHistory(ctx context.Context, tc client.Client, workflowID, updateID string, dst any) (found bool, err error) {
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false, err
		}
		done := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
		if done == nil || done.GetMeta().GetUpdateId() != updateID {
			continue
		}
		if f := done.GetOutcome().GetFailure(); f != nil {
			return true, temporal.GetDefaultFailureConverter().FailureToError(f)
		}
		if dst == nil {
			return true, nil
		}
		return true, converter.GetDefaultDataConverter().FromPayloads(done.GetOutcome().GetSuccess(), dst)
	}
	return false, nil
}
