package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/twilioapi"
)

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-no-callbacks", "-rate", "1000"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^sms-emulator listening on (http://127\.0\.0\.1:\d+) account_sid=(AC\w{32}) `).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("banner %q", line)
	}
	base, sid := m[1], m[2]
	if sid != smsemu.DefaultAccountSID {
		t.Errorf("account sid %s", sid)
	}

	resp, err := http.Get(base + "/_emulator/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v", err)
	}
	resp.Body.Close()
	rc := twilioapi.New(twilioapi.Config{AccountSID: sid, AuthToken: smsemu.DefaultAuthToken, BaseURL: base})
	msg, err := rc.Api.CreateMessage(new(openapi.CreateMessageParams).SetTo("+15551230000").SetFrom("+15550000001").SetBody("hello"))
	if err != nil || msg.Sid == nil {
		t.Fatalf("send: %v", err)
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
	for _, args := range [][]string{
		{"-account-sid", "ACemulator00000000000000000000000000"}, // 36 characters
		{"-account-sid", "XX" + strings.Repeat("0", 32)},
		{"-auth-token", "emulator-token"},
		{"-nope"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if err := run(context.Background(), []string{"-h"}, io.Discard); err != nil {
		t.Errorf("-h: %v", err)
	}
}
