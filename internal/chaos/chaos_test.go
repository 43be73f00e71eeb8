package chaos_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nurture-sms/nurture/internal/chaos"
)

// TestChaos runs every scenario at the reduced sizes (make chaos runs them
// at full size). A scenario that cannot start its services fails.
func TestChaos(t *testing.T) {
	env := newEnv(t)
	for _, sc := range chaos.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) { runScenario(t, env, sc) })
	}
}

func newEnv(t *testing.T) *chaos.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	env, err := chaos.NewEnv(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	env.Logf = t.Logf
	return env
}

func runScenario(t *testing.T, env *chaos.Env, sc chaos.Scenario) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	env.Logf = t.Logf
	r := sc.Run(ctx, env, chaos.Reduced())
	t.Log(r.Line())
	if !r.OK {
		if r.Dir != "" {
			for _, name := range []string{"worker1.log", "api1.log", "temporal.log"} {
				if b, err := os.ReadFile(r.Dir + "/" + name); err == nil && len(b) > 0 {
					if len(b) > 4000 {
						b = b[len(b)-4000:]
					}
					t.Logf("%s (tail):\n%s", name, b)
				}
			}
		}
		t.Fatal(r.Line())
	}
}
