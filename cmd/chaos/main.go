// Command chaos runs Nurture's failure scenarios (internal/chaos) at full
// size against real processes: it builds ./cmd/worker and ./cmd/api, and
// each scenario starts its own Postgres database, Temporal dev server
// (./bin/temporal), Airtable emulator, workers and APIs. Every scenario
// prints one line `chaos: scenario=NAME result=ok|FAIL detail=...`; the
// exit status is 1 if any failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nurture-sms/nurture/internal/chaos"
)

func main() {
	only := flag.String("only", "", "comma-separated scenario names to run (default: all)")
	list := flag.Bool("list", false, "list the scenarios and exit")
	reduced := flag.Bool("reduced", false, "use the reduced sizes of make test")
	keep := flag.Bool("keep-logs", false, "keep every stack's logs (failed scenarios always keep theirs)")
	quiet := flag.Bool("quiet", false, "no progress on stderr")
	flag.Parse()
	if *list {
		for _, s := range chaos.Scenarios() {
			fmt.Printf("%-24s %s\n", s.Name, s.Summary)
		}
		return
	}
	scenarios := chaos.Scenarios()
	if *only != "" {
		var err error
		if scenarios, err = chaos.Lookup(strings.Split(*only, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			os.Exit(2)
		}
	}
	sizes := chaos.Full()
	if *reduced {
		sizes = chaos.Reduced()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, scenarios, sizes, *keep, *quiet))
}

func run(ctx context.Context, scenarios []chaos.Scenario, sizes chaos.Sizes, keep, quiet bool) int {
	dir, err := os.MkdirTemp("", "nurture-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	env, err := chaos.NewEnv(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		_ = os.RemoveAll(dir)
		return 1
	}
	env.KeepLogs = keep
	if !quiet {
		env.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
		}
	}
	failed, kept := 0, false
	for _, sc := range scenarios {
		if ctx.Err() != nil {
			break
		}
		r := sc.Run(ctx, env, sizes)
		fmt.Println(r.Line())
		if !r.OK {
			failed++
			kept = true
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "chaos: interrupted")
		failed++
	}
	if kept || keep {
		fmt.Fprintln(os.Stderr, "chaos: logs kept in", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	if failed > 0 {
		return 1
	}
	return 0
}
