package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/nurture-sms/nurture/internal/llm"
)

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-models", "custom-model", "-log-level", "error"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^llm-emulator listening on (http://127\.0\.0\.1:\d+/v1) models=custom-model,gpt-5,gpt-4o-mini\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("banner %q", line)
	}
	base := m[1]
	resp, err := http.Get(base[:len(base)-3] + "/_emulator/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v", err)
	}
	resp.Body.Close()

	// What `make run` configures: LLM_PROVIDER=openai, LLM_BASE_URL=…/v1.
	cfg := llm.Config{Kind: llm.KindOpenAI, APIKey: "emulator-key", BaseURL: base}
	ping, err := llm.Pinger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	p, err := llm.NewProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := llm.DraftInput{CampaignName: "Acme", TargetAudience: "all", Goal: "book a visit", BookingLink: "https://calendly.com/acme"}
	if err := in.Normalize(llm.DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	if msg, _, err := llm.Draft(ctx, p, "custom-model", in); err != nil {
		t.Fatalf("draft %q: %v", msg, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-log-level", "loud"}, {"-addr", "127.0.0.1:99999"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if err := run(context.Background(), []string{"-h"}, io.Discard); err != nil {
		t.Errorf("-h: %v", err)
	}
}
