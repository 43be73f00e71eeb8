package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Error codes of the envelope (ARCHITECTURE.md, "API").
const (
	CodeUnauthenticated     = "UNAUTHENTICATED"
	CodeForbidden           = "FORBIDDEN"
	CodeNotFound            = "NOT_FOUND"
	CodeMethodNotAllowed    = "METHOD_NOT_ALLOWED"
	CodeInvalidInput        = "INVALID_INPUT"
	CodePayloadTooLarge     = "PAYLOAD_TOO_LARGE"
	CodeDuplicateName       = "DUPLICATE_NAME"
	CodeConflict            = "CONFLICT"
	CodeIdempotencyConflict = "IDEMPOTENCY_CONFLICT"
	CodeRateLimited         = "RATE_LIMITED"
	CodeUnavailable         = "UNAVAILABLE"
	CodeInternal            = "INTERNAL"
)

// Error is an API error; handlers return it and the envelope writer renders it.
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// InvalidField is a 400 naming the offending field.
func InvalidField(field, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidInput, Message: msg, Details: map[string]any{"field": field}}
}

func errNotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found"}
}

func errForbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: msg}
}

func errInternal() *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

type envelope struct {
	Error envelopeBody `json:"error"`
}

type envelopeBody struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details,omitempty"`
	RequestID string         `json:"request_id"`
}

// abort writes the envelope and stops the chain.
func abort(c *gin.Context, e *Error) {
	c.AbortWithStatusJSON(e.Status, envelope{Error: envelopeBody{
		Code: e.Code, Message: e.Message, Details: e.Details, RequestID: requestID(c),
	}})
}
