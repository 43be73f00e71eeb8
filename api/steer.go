package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/nurture-sms/nurture/internal/temporalx"
)

// updateWorkflow sends an Update and waits for the workflow's verdict (the
// result in dst), mapped for the envelope: a refusal is a 409 CONFLICT with
// the workflow's reason, bad input a 400 naming field, no verdict in time
// a 503. A closed workflow stays temporalx.ErrWorkflowGone, for the caller
// to explain.
func (h *handlers) updateWorkflow(ctx context.Context, workflowID, name, field string, arg, dst any) error {
	err := temporalx.Update(ctx, h.temporal, workflowID, name, arg, dst)
	return updateError(err, field)
}

func updateError(err error, field string) error {
	var refused *temporalx.RefusedError
	switch {
	case err == nil, errors.Is(err, temporalx.ErrWorkflowGone):
		return err
	case errors.As(err, &refused) && refused.Invalid:
		return InvalidField(field, refused.Reason)
	case errors.As(err, &refused):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: refused.Reason}
	case errors.Is(err, temporalx.ErrNoVerdict):
		return unavailable("the workflow did not answer in time; the action may still be carried out, check its state", err)
	default:
		return unavailable("could not reach the workflow", err)
	}
}
