package llm

import (
	"context"
	"errors"
	"fmt"

	openai "github.com/sashabaranov/go-openai"
)

// StatusError is an HTTP answer that is not a success, from a health check.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d", e.Code) }

// Pinger returns a check that lists the models of the API c describes
// (GET {base}/models; for Azure, {endpoint}/openai/models): no tokens are
// spent. It is nil when no provider is configured (c.Kind or c.APIKey
// empty). HTTP error answers are *StatusError; anything else (refused,
// timed out) is the transport's error. Callers bound it with ctx.
func Pinger(c Config) (func(ctx context.Context) error, error) {
	cfg, ok, err := clientConfig(c)
	if err != nil || !ok {
		return nil, err
	}
	cl := openai.NewClientWithConfig(cfg)
	return func(ctx context.Context) error {
		_, err := cl.ListModels(ctx)
		if err == nil {
			return nil
		}
		var ae *openai.APIError
		if errors.As(err, &ae) && ae.HTTPStatusCode != 0 {
			return &StatusError{Code: ae.HTTPStatusCode}
		}
		var re *openai.RequestError
		if errors.As(err, &re) && re.HTTPStatusCode != 0 {
			return &StatusError{Code: re.HTTPStatusCode}
		}
		return err
	}, nil
}
