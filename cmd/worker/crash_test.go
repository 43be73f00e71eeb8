package main_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nurture-sms/nurture/internal/chaos"
)

// The worker's crash tests are scenarios of internal/chaos (make chaos runs
// them at full size: 50,000 leads and 20,000 deletions, several SIGKILLs).
// Here they run at the reduced sizes, against a worker process built from
// this tree: SIGKILLed inside a batch (its backend still waiting on a lock
// the harness holds), started again, and the outcome exact.

var env *chaos.Env

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "nurture-worker-crash-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if env, err = chaos.NewEnv(ctx, dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

func runScenario(t *testing.T, name string, sz chaos.Sizes) {
	sc, err := chaos.Lookup([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	env.Logf = t.Logf
	r := sc[0].Run(ctx, env, sz)
	t.Log(r.Line())
	if !r.OK {
		t.Fatal(r.Line())
	}
}

// The worker is SIGKILLed inside enrollment batches and restarted: the
// campaign still ends with exactly the eligible leads enrolled, each once.
func TestWorkerSIGKILLDuringEnrollment(t *testing.T) {
	runScenario(t, "sigkill-enroll", chaos.Reduced())
}

// The worker is SIGKILLed inside an approved deletion batch and restarted:
// exactly the staged leads are gone (each with its audit row) and every
// other lead is still there.
func TestWorkerSIGKILLDuringDeletionApproval(t *testing.T) {
	runScenario(t, "sigkill-delete", chaos.Reduced())
}
