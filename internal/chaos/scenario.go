// Package chaos runs Nurture's failure scenarios against real processes: a
// Temporal dev server restarted on its state file, Postgres backends of the
// worker terminated, the worker killed with SIGKILL, and two APIs with two
// workers on one Temporal and one Postgres. Every scenario builds its own
// Stack (a fresh database, its own Temporal, the worker and API binaries
// built from this tree), drives the system through the HTTP API, injects
// its faults at known points, checks exact outcomes in the database, and
// prints one line:
//
//	chaos: scenario=NAME result=ok|FAIL detail=key=value ...
//
// cmd/chaos runs them at full size (make chaos); chaos_test.go runs every
// one at reduced size in make test.
package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scenario is one failure scenario.
type Scenario struct {
	Name    string
	Summary string
	run     func(ctx context.Context, s *Stack, sz Sizes, f *Facts) error
}

// Scenarios are every scenario, in the order make chaos runs them.
func Scenarios() []Scenario {
	return []Scenario{
		{"temporal-restart-timer", "Temporal restarted on its state file while a campaign waits on its start timer", temporalRestartTimer},
		{"temporal-restart-review", "Temporal restarted on its state file while staged deletions await a decision", temporalRestartReview},
		{"pg-terminate-enroll", "the worker's Postgres backends terminated inside enrollment batches", pgTerminateEnroll},
		{"pg-terminate-listing", "the worker's Postgres backends terminated during a sync listing", pgTerminateListing},
		{"pg-terminate-delete", "the worker's Postgres backends terminated inside approved deletion batches", pgTerminateDelete},
		{"sigkill-enroll", "the worker SIGKILLed (and restarted) inside enrollment batches", sigkillEnroll},
		{"sigkill-listing", "the worker SIGKILLed (and restarted) during a sync listing", sigkillListing},
		{"sigkill-delete", "the worker SIGKILLed (and restarted) inside approved deletion batches", sigkillDelete},
		{"sigkill-send", "the worker SIGKILLed (and restarted) while a campaign's messages go out", sigkillSend},
		{"multi-campaigns", "two APIs and two workers: overlapping campaigns created concurrently through both", multiCampaigns},
		{"multi-webhook", "two APIs and two workers: a sync started on one API, webhook pings on the other", multiWebhook},
		{"multi-drafts", "two APIs and two workers: parallel drafts from one token against one rate limit", multiDrafts},
	}
}

// Lookup finds scenarios by name.
func Lookup(names []string) ([]Scenario, error) {
	all := Scenarios()
	var out []Scenario
	for _, n := range names {
		i := slices.IndexFunc(all, func(s Scenario) bool { return s.Name == n })
		if i < 0 {
			var known []string
			for _, s := range all {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", n, strings.Join(known, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// Result is a scenario's outcome.
type Result struct {
	Name   string
	OK     bool
	Detail string
	Took   time.Duration
	// Dir holds the stack's logs when the scenario failed.
	Dir string
}

// Line is the scenario's one output line.
func (r Result) Line() string {
	res := "ok"
	if !r.OK {
		res = "FAIL"
	}
	return fmt.Sprintf("chaos: scenario=%s result=%s detail=%s", r.Name, res, r.Detail)
}

// Run runs one scenario on a fresh stack and closes the stack; a scenario
// that cannot set up its services fails (nothing is skipped).
func (sc Scenario) Run(ctx context.Context, env *Env, sz Sizes) Result {
	start := time.Now()
	f := &Facts{}
	res := Result{Name: sc.Name}
	s, err := NewStack(ctx, env, sc.Name)
	if err != nil {
		f.Fail("stack: %v", err)
	} else {
		env.logf("%s: stack up (temporal %s, database %s, logs %s)", sc.Name, s.Temporal.Address(), s.DB.URL, s.Dir)
		if err := sc.run(ctx, s, sz, f); err != nil {
			f.Fail("%v", err)
		}
		if !f.OK() {
			f.Set("logs", s.Dir)
			res.Dir = s.Dir
		}
		s.Close(!f.OK())
	}
	res.Took = time.Since(start)
	f.Set("took", res.Took)
	res.OK, res.Detail = f.OK(), f.Detail()
	return res
}

// Facts are a scenario's measured facts (key=value, in order) and the
// checks that failed.
type Facts struct {
	keys  []string
	vals  map[string]string
	fails []string
}

// Set records a fact (a later Set of the same key replaces it).
func (f *Facts) Set(key string, v any) {
	if f.vals == nil {
		f.vals = map[string]string{}
	}
	if _, ok := f.vals[key]; !ok {
		f.keys = append(f.keys, key)
	}
	f.vals[key] = format(v)
}

func format(v any) string {
	switch x := v.(type) {
	case time.Duration:
		return x.Round(10 * time.Millisecond).String()
	case []int:
		s := make([]string, len(x))
		for i, n := range x {
			s[i] = fmt.Sprint(n)
		}
		return strings.Join(s, ",")
	case string:
		return strings.ReplaceAll(oneLine(x), " ", "_")
	}
	return strings.ReplaceAll(oneLine(fmt.Sprint(v)), " ", "_")
}

// Check records a failure unless ok; it answers ok.
func (f *Facts) Check(ok bool, format string, args ...any) bool {
	if !ok {
		f.Fail(format, args...)
	}
	return ok
}

// Fail records a failed check.
func (f *Facts) Fail(format string, args ...any) {
	f.fails = append(f.fails, oneLine(fmt.Sprintf(format, args...)))
}

// OK reports whether every check passed.
func (f *Facts) OK() bool { return len(f.fails) == 0 }

// Detail is the facts as one line, and the failures, if any.
func (f *Facts) Detail() string {
	var b strings.Builder
	for i, k := range f.keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + f.vals[k])
	}
	if len(f.fails) > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fmt.Sprintf("failure=%q", strings.Join(f.fails, "; ")))
	}
	return b.String()
}
