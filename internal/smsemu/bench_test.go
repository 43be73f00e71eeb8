package smsemu_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/nurture-sms/nurture/internal/smsemu"
)

// BenchmarkSend measures the emulator's own cost of one send: the handler
// called in-process (form parsing, auth, validation, store, JSON answer),
// with callbacks off, from parallel goroutines.
func BenchmarkSend(b *testing.B) {
	emu := smsemu.New(smsemu.Options{NoCallbacks: true})
	defer emu.Close()
	h := emu.Handler()
	path := "/2010-04-01/Accounts/" + emu.AccountSID() + "/Messages.json"
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			form := url.Values{"To": {"+1555" + strconv.FormatInt(1000000+i%100000, 10)}, "From": {sender},
				"Body": {"Hi Sam, your trial ends soon. Reply STOP to opt out. #" + strconv.FormatInt(i, 10)}}
			req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(emu.AccountSID(), emu.AuthToken())
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				b.Fatalf("HTTP %d: %s", w.Code, w.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSendHTTP measures sends end to end over loopback HTTP with the
// official twilio-go client (32 concurrent senders), with status callbacks
// off and on (three signed callbacks per message to a local receiver).
func BenchmarkSendHTTP(b *testing.B) {
	for _, callbacks := range []bool{false, true} {
		name := "callbacks=off"
		if callbacks {
			name = "callbacks=on"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, smsemu.Options{NoCallbacks: !callbacks, CallbackDelay: 5 * time.Millisecond})
			var received atomic.Int64
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				received.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer recv.Close()
			cb := ""
			if callbacks {
				cb = recv.URL + "/status"
			}
			var n atomic.Int64
			b.SetParallelism(16) // 16 × GOMAXPROCS goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					p := new(openapi.CreateMessageParams).SetTo("+1555" + strconv.FormatInt(1000000+i%100000, 10)).
						SetFrom(sender).SetBody("Bench message " + strconv.FormatInt(i, 10))
					if cb != "" {
						p.SetStatusCallback(cb)
					}
					if _, err := e.rc.Api.CreateMessage(p); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if callbacks {
				// Let the callbacks drain so they are not charged to the next run.
				deadline := time.Now().Add(30 * time.Second)
				for e.emu.Stats().CallbacksPending > 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if st := e.emu.Stats(); st.CallbacksFailed > 0 {
					b.Errorf("%d callbacks failed", st.CallbacksFailed)
				}
			}
		})
	}
}
