package chaos

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nurture-sms/nurture/internal/testenv"
)

// Env is what every scenario runs with: the binaries under test, built
// from this tree, and where progress goes.
type Env struct {
	WorkerBin   string
	APIBin      string
	TemporalBin string
	// Dir holds the binaries and one directory per stack (logs, Temporal state).
	Dir string
	// Logf reports progress (one scenario's steps); nil discards it.
	Logf func(format string, args ...any)
	// KeepLogs keeps each stack's directory after it closes.
	KeepLogs bool
}

// NewEnv builds ./cmd/worker and ./cmd/api into dir and checks that the
// Temporal CLI is where the Makefile puts it. A missing binary or a failed
// build is an error: no scenario runs without its services.
func NewEnv(ctx context.Context, dir string) (*Env, error) {
	tb := testenv.TemporalBinary()
	if _, err := os.Stat(tb); err != nil {
		return nil, fmt.Errorf("chaos needs the Temporal CLI at %s (make tools): %w", tb, err)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/worker", "./cmd/api")
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build ./cmd/worker ./cmd/api: %w\n%s", err, out)
	}
	e := &Env{WorkerBin: filepath.Join(dir, "worker"), APIBin: filepath.Join(dir, "api"), TemporalBin: tb, Dir: dir}
	e.logf("built worker and api in %s", time.Since(start).Round(time.Millisecond))
	return e, nil
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// freePorts finds n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// oneLine makes s safe for a single output line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
