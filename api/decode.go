package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DecodeJSON reads one JSON object from body into dst, strictly: unknown
// fields, trailing data, wrong types, oversize bodies and strings that
// break the edge rule (invalid UTF-8, NUL; see edge.go) are input errors
// that name the field when one is known.
func DecodeJSON(body io.Reader, dst any) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return err
		}
		return InvalidField("body", "could not read request body")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return InvalidField("body", "request body must be a JSON object")
	}
	if err := checkJSONText(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return InvalidField("body", "request body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return InvalidField("body", "request body must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error) *Error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return InvalidField("body", "request body must be a JSON object")
		}
		return InvalidField(field, fmt.Sprintf("%s must be %s", field, jsonKind(typeErr.Type.Kind().String())))
	case errors.As(err, &syntaxErr):
		return InvalidField("body", fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return InvalidField("body", "malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		field := name
		if field == "" {
			field = "body"
		}
		return InvalidField(field, "unknown field "+strconv.Quote(name))
	default:
		var fe *fieldError
		if errors.As(err, &fe) {
			return InvalidField(fe.field, fe.msg)
		}
		return InvalidField("body", "malformed JSON")
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "of another type"
}

type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.msg }

// ParseUUID parses a path or query UUID, naming the field on failure.
func ParseUUID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, InvalidField(field, field+" must be a UUID")
	}
	return id, nil
}

// ParseTime parses an RFC 3339 timestamp (with offset), naming the field.
func ParseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, InvalidField(field, field+" must be an RFC 3339 timestamp with offset, e.g. 2026-01-02T15:04:05Z")
	}
	return t, nil
}
