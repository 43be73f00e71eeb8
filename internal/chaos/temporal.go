package chaos

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nurture-sms/nurture/internal/testenv"
)

// Temporal is a Temporal CLI dev server run as a subprocess with its state
// in a file, so it can be stopped and started again on the same port with
// the same state (workflows, timers, history).
type Temporal struct {
	*Proc
	Bin    string
	Port   int
	UIPort int
	DBFile string
}

func newTemporal(bin, dir string, env []string) (*Temporal, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	t := &Temporal{Bin: bin, Port: ports[0], UIPort: ports[1], DBFile: dir + "/temporal.db"}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(t.Port),
		"--ui-port", strconv.Itoa(t.UIPort), "--db-filename", t.DBFile, "--log-level", "warn",
		"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"}
	args = append(args, testenv.SearchAttributeArgs()...)
	t.Proc = &Proc{Name: "temporal", Path: bin, Args: args, Env: env, Log: dir + "/temporal.log"}
	return t, nil
}

// Address is the frontend's host:port.
func (t *Temporal) Address() string { return "127.0.0.1:" + strconv.Itoa(t.Port) }

// StartAndWait starts the server and waits until `temporal operator
// cluster health` answers SERVING.
func (t *Temporal) StartAndWait(ctx context.Context) error {
	if err := t.Start(); err != nil {
		return err
	}
	return t.WaitHealthy(ctx, 2*time.Minute)
}

// WaitHealthy polls `temporal operator cluster health` until SERVING.
func (t *Temporal) WaitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		if up, err := t.Running(); !up {
			return fmt.Errorf("temporal dev server exited: %v; log:\n%s", err, t.Tail(2000))
		}
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := exec.CommandContext(hctx, t.Bin, "operator", "cluster", "health", "--address", t.Address()).CombinedOutput()
		cancel()
		last = strings.TrimSpace(string(out))
		if err == nil && strings.Contains(last, "SERVING") {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("temporal at %s not healthy after %s: %s", t.Address(), limit, last)
}

// Restart stops the server with SIGTERM, waits for it to exit, and starts
// it again on the same port with the same state file. It answers how long
// the frontend was down (stop to SERVING).
func (t *Temporal) Restart(ctx context.Context, downFor time.Duration) (time.Duration, error) {
	start := time.Now()
	if !t.signal(syscall.SIGTERM, 30*time.Second) {
		_ = t.Kill()
		return 0, fmt.Errorf("temporal dev server did not exit within 30 s of SIGTERM")
	}
	if downFor > 0 {
		time.Sleep(downFor)
	}
	if err := t.StartAndWait(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
