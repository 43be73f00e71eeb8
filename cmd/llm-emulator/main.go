// Command llm-emulator serves a local, in-memory OpenAI-compatible API
// (GET /v1/models, POST /v1/chat/completions) for development and manual
// testing; see package llmemu.
//
//	go run ./cmd/llm-emulator
//
// then point the product at it: LLM_PROVIDER=openai
// LLM_BASE_URL=http://127.0.0.1:8183/v1 LLM_API_KEY=emulator-key (any
// non-empty key unless -api-key is given). The admin API (faults, the
// request log) lives under /_emulator/ on the same address.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/llmemu"
	"github.com/nurture-sms/nurture/internal/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "llm-emulator:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("llm-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8183", "listen address")
	models := fs.String("models", envOr("LLM_PRIMARY_MODEL", llmemu.DefaultPrimaryModel)+","+envOr("LLM_FALLBACK_MODEL", llmemu.DefaultFallbackModel),
		"comma-separated models to serve (gpt-5 and gpt-4o-mini are always served)")
	apiKey := fs.String("api-key", "", "accept only this bearer token (default: any non-empty token)")
	logLevel := fs.String("log-level", envOr("LOG_LEVEL", "info"), "zap log level")
	logFormat := fs.String("log-format", envOr("LOG_FORMAT", "json"), `"json" or "console"`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log, err := logging.New(*logLevel, *logFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	emu := llmemu.New(llmemu.Options{Models: strings.Split(*models, ","), APIKey: *apiKey, Log: log})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "llm-emulator listening on http://%s/v1 models=%s\n", ln.Addr(), strings.Join(emu.Models(), ","))
	log.Info("llm-emulator listening", zap.String("addr", ln.Addr().String()), zap.Strings("models", emu.Models()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("llm-emulator stopping")
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

func envOr(k, def string) string {
	if v := strings.TrimSpace(os.Getenv(k)); v != "" {
		return v
	}
	return def
}
