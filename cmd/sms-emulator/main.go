// Command sms-emulator serves a local, in-memory Twilio Programmable
// Messaging API (2010-04-01) for development and manual testing; see
// package smsemu.
//
//	go run ./cmd/sms-emulator -inbound-url http://127.0.0.1:8080/twilio/inbound
//
// then point twilio-go at the printed URL through internal/twilioapi:
// twilioapi.New(twilioapi.Config{AccountSID: sid, AuthToken: token,
// BaseURL: "http://127.0.0.1:8182"}). The admin API lives under /_emulator/
// on the same address.
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

	"github.com/nurture-sms/nurture/internal/smsemu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sms-emulator:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sms-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8182", "listen address")
	accountSID := fs.String("account-sid", smsemu.DefaultAccountSID, "account SID to accept (AC + 32 letters or digits)")
	authToken := fs.String("auth-token", smsemu.DefaultAuthToken, "auth token to accept and sign callbacks with (letters and digits: twilio-go refuses others)")
	inboundURL := fs.String("inbound-url", "", "default webhook for inbound messages (POST /_emulator/inbound)")
	callbackDelay := fs.Duration("callback-delay", smsemu.DefaultCallbackDelay, "time between the steps of a message's status walk")
	noCallbacks := fs.Bool("no-callbacks", false, "do not send status callbacks")
	rate := fs.Int("rate", 0, "accepted sends per second beyond which sends answer 429; 0 = unlimited")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := checkAccountSID(*accountSID); err != nil {
		return err
	}
	if !alphanumeric(*authToken) {
		return fmt.Errorf("-auth-token %q: use letters and digits only (twilio-go refuses other tokens)", *authToken)
	}

	emu := smsemu.New(smsemu.Options{
		AccountSID: *accountSID, AuthToken: *authToken, InboundURL: *inboundURL,
		CallbackDelay: *callbackDelay, NoCallbacks: *noCallbacks, RateLimit: *rate,
	})
	defer emu.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "sms-emulator listening on http://%s account_sid=%s auth_token=%s callbacks=%v\n",
		ln.Addr(), *accountSID, *authToken, !*noCallbacks)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Release requests held by the timeout-after-accept fault first, so
	// Shutdown does not wait for them.
	emu.Close()
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

func checkAccountSID(sid string) error {
	if len(sid) != 34 || !strings.HasPrefix(sid, "AC") || !alphanumeric(sid) {
		return fmt.Errorf("-account-sid %q: want AC followed by 32 letters or digits (34 characters)", sid)
	}
	return nil
}

func alphanumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}
