package api_test

import (
	"net/http/httptest"
	"strings"
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

func TestBootstrapTokenIsSuperAdmin(t *testing.T) {
	r := api.Router(api.Deps{Store: testStore, Temporal: testTemporal, BootstrapToken: "boot-" + strings.Repeat("x", 40)})
	srv := httptest.NewServer(r)
	defer srv.Close()
	h := &harness{t: t, srv: srv, logs: nil}
	if got := h.do("GET", "/v1/leads", "boot-"+strings.Repeat("x", 40), nil); got.Status != 200 {
		t.Fatalf("bootstrap token: %d", got.Status)
	}
	if got := h.do("POST", "/v1/clients", "boot-"+strings.Repeat("x", 40), map[string]any{"name": "boot " + strings.Repeat("y", 3) + t.Name()}); got.Status != 201 {
		t.Fatalf("bootstrap create client: %d %s", got.Status, got.Body)
	}
	if got := h.do("GET", "/v1/leads", "boot-"+strings.Repeat("x", 39), nil); got.Status != 401 {
		t.Fatalf("near-miss token: %d", got.Status)
	}
}
