// Command airtable-emulator serves a local, in-memory Airtable Web API (v0)
// for development and manual testing; see package airtableemu.
//
//	go run ./cmd/airtable-emulator -seed
//
// then point a client at the printed URL, e.g. with mehanizm/airtable:
// client.SetBaseURL("http://127.0.0.1:8181/v0"). The admin API lives under
// /_emulator/ on the same address.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "airtable-emulator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("airtable-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8181", "listen address")
	seed := fs.Bool("seed", false, "load the demo bases (Leads tables)")
	rate := fs.Int("rate", airtableemu.DefaultRateLimit, "requests per second allowed per base; 0 = unlimited")
	penalty := fs.Duration("penalty", airtableemu.DefaultPenalty, "how long a base answers 429 after exceeding -rate")
	offsetTTL := fs.Duration("offset-ttl", airtableemu.DefaultOffsetTTL, "inactivity after which a list offset expires")
	apiKey := fs.String("api-key", "", "accept only this bearer token (default: any non-empty token)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	emu := airtableemu.New(airtableemu.Options{
		APIKey: *apiKey, RateLimit: *rate, Penalty: *penalty, OffsetTTL: *offsetTTL,
	})
	var ids []string
	if *seed {
		for _, b := range airtableemu.SeedDemo(emu) {
			ids = append(ids, b.ID)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}

	bases := "none (POST /_emulator/seed-demo or /_emulator/bases)"
	if len(ids) > 0 {
		bases = strings.Join(ids, ",")
	}
	fmt.Printf("airtable-emulator listening on http://%s/v0 bases=%s\n", ln.Addr(), bases)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
