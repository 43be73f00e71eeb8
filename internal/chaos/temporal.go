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
	t := &Temporal{Bin: bin, DBFile: dir + "/temporal.db"}
	t.Proc = &Proc{Name: "temporal", Path: bin, Env: env, Log: dir + "/temporal.log"}
	return t, nil
}

// pickPorts chooses free ports: the UI's always, the frontend's unless it
// is pinned (a restart must come back on the same one).
func (t *Temporal) pickPorts(keepFrontend bool) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	if !keepFrontend || t.Port == 0 {
		t.Port = ports[0]
	}
	t.UIPort = ports[1]
	t.Args = append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(t.Port),
		"--ui-port", strconv.Itoa(t.UIPort), "--db-filename", t.DBFile, "--log-level", "warn",
		"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"}, testenv.SearchAttributeArgs()...)
	return nil
}

// Address is the frontend's host:port.
func (t *Temporal) Address() string { return "127.0.0.1:" + strconv.Itoa(t.Port) }

// StartAndWait starts the server on new ports and waits until `temporal
// operator cluster health` answers SERVING.
func (t *Temporal) StartAndWait(ctx context.Context) error { return t.start(ctx, false) }

// start starts the server and waits for health. A free port found here can
// be taken by another process before the server binds it (the machine is
// shared, and the dev server picks its internal ports at random too), so a
// server that exits while starting is started again, on other ports
// except a pinned frontend port.
func (t *Temporal) start(ctx context.Context, keepFrontend bool) error {
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if err = t.pickPorts(keepFrontend); err != nil {
			return err
		}
		if err = t.Start(); err != nil {
			return err
		}
		if err = t.WaitHealthy(ctx, 2*time.Minute); err == nil {
			return nil
		}
		if up, _ := t.Running(); up || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
	return err
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
	if err := t.start(ctx, true); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
