package temporalx_test

import (
	"testing"

	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/workflows"
)

// The workflows refuse Updates with the error types Update recognizes.
func TestRefusalTypesMatchTheWorkflows(t *testing.T) {
	if workflows.ErrTypeRefused != temporalx.ErrTypeRefused || workflows.ErrTypeInvalid != temporalx.ErrTypeInvalid {
		t.Fatalf("workflows refuse with %q/%q, temporalx expects %q/%q",
			workflows.ErrTypeRefused, workflows.ErrTypeInvalid, temporalx.ErrTypeRefused, temporalx.ErrTypeInvalid)
	}
}
