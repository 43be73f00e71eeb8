package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/nurture-sms/nurture/internal/testenv"
)

// stack is what a crash test needs: a database, a Temporal dev server and
// the worker binary built from this package, started as a real process.
type stack struct {
	t   *testing.T
	ctx context.Context
	db  *testenv.Database
	srv *testsuite.DevServer
	bin string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	dbase, err := testenv.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dbase.Close)
	srv, err := testenv.StartTemporal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	bin := filepath.Join(t.TempDir(), "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build worker: %v", err)
	}
	return &stack{t: t, ctx: ctx, db: dbase, srv: srv, bin: bin}
}

// worker starts the worker process on queue with extra environment.
func (s *stack) worker(queue string, env ...string) *exec.Cmd {
	s.t.Helper()
	cmd := exec.Command(s.bin)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+s.db.URL, "TEMPORAL_ADDRESS="+s.srv.FrontendHostPort(),
		"TEMPORAL_TASK_QUEUE="+queue, "WORKER_METRICS_ADDR=127.0.0.1:0", "LOG_LEVEL=warn",
		"TWILIO_BASE_URL=http://127.0.0.1:9") // tests that send pass their own emulator
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	return cmd
}
