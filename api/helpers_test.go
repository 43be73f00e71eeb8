package api_test

import (
	"net/http/httptest"
	"testing"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gin-gonic/gin"

	"github.com/nurture-sms/nurture/api"
)

func stringField(k, v string) zapcore.Field { return zap.String(k, v) }

// panicEngine is the real router plus one route that panics with text
// that must never reach a client.
func panicEngine(t *testing.T) *harness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	r := api.Router(api.Deps{Store: testStore, Temporal: testTemporal, Logger: zap.New(core)})
	r.GET("/boom", func(*gin.Context) { panic("SELECT secret FROM tokens") })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, logs: logs}
}

// newUnreadyHarness points the API at a Temporal address where nothing listens.
func newUnreadyHarness(t *testing.T) *harness {
	t.Helper()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", ConnectionOptions: client.ConnectionOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	core, logs := observer.New(zapcore.DebugLevel)
	r := api.Router(api.Deps{Store: testStore, Temporal: tc, Logger: zap.New(core)})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, logs: logs}
}
