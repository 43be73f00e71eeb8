package smsemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"time"
)

// Faults are the failures injected into the API. The zero value injects
// nothing. The counted faults (FailNext, RateLimitNext, TimeoutNext) count
// down with each send they hit.
type Faults struct {
	// FailNext answers the next FailNext sends with a 5xx (Twilio's error
	// body, code 20500) without storing anything. FailStatus is the HTTP
	// status (default 500).
	FailNext   int `json:"failNext,omitempty"`
	FailStatus int `json:"failStatus,omitempty"`
	// RateLimitNext answers the next RateLimitNext sends with 429 (code
	// 20429); RateLimitProbability (0..1) answers each send with 429 at
	// random.
	RateLimitNext        int     `json:"rateLimitNext,omitempty"`
	RateLimitProbability float64 `json:"rateLimitProbability,omitempty"`
	// TimeoutNext: the next TimeoutNext sends that would be accepted are
	// accepted — stored, counted, their callbacks sent — but never
	// answered: the request is held until the client gives up (or for
	// TimeoutHold, when set; at most 5 min) and the connection is then
	// closed without a response (the handler panics with
	// http.ErrAbortHandler, which net/http's server turns into a closed
	// connection; call the handler through a server).
	TimeoutNext int           `json:"timeoutNext,omitempty"`
	TimeoutHold time.Duration `json:"-"`
	// FailAfterAcceptNext: the next FailAfterAcceptNext sends that would be
	// accepted are accepted (stored, counted, called back) and then answered
	// 502 with Twilio's error body (code 20500), as a proxy or an overloaded
	// edge does: a 5xx does not prove that no message was created.
	FailAfterAcceptNext int `json:"failAfterAcceptNext,omitempty"`
	// Latency is added to every API request.
	Latency time.Duration `json:"-"`
	// DuplicateCallbacks (0..1) is the probability that a status callback
	// is sent twice; ReorderCallbacks (0..1) the probability that a
	// message's callbacks are sent in reverse order (final status first).
	DuplicateCallbacks float64 `json:"duplicateCallbacks,omitempty"`
	ReorderCallbacks   float64 `json:"reorderCallbacks,omitempty"`
	// FinalStatus forces the final status of every message accepted:
	// "undelivered" (ErrorCode default 30003) or "failed" (default 30008).
	// Empty: delivered.
	FinalStatus string `json:"finalStatus,omitempty"`
	ErrorCode   int    `json:"errorCode,omitempty"`
	// Numbers are faults of single recipients (To), by E.164 number.
	Numbers map[string]NumberFault `json:"numbers,omitempty"`
}

// NumberFault is a fault of one recipient.
type NumberFault struct {
	// Reject answers every send to the number with this Twilio error code
	// (e.g. 21610 unsubscribed recipient, 21211 invalid 'To' number, 21614
	// not a mobile number) and HTTP 400.
	Reject int `json:"reject,omitempty"`
	// FinalStatus and ErrorCode force the final status of messages to the
	// number, as Faults.FinalStatus does (e.g. "undelivered" with 30003
	// unreachable or 30005 unknown handset, "failed" with 30008).
	FinalStatus string `json:"finalStatus,omitempty"`
	ErrorCode   int    `json:"errorCode,omitempty"`
}

// maxHold bounds how long the timeout-after-accept fault holds a request.
const maxHold = 5 * time.Minute

type faultsJSON struct {
	FailNext             int                    `json:"failNext,omitempty"`
	FailStatus           int                    `json:"failStatus,omitempty"`
	RateLimitNext        int                    `json:"rateLimitNext,omitempty"`
	RateLimitProbability float64                `json:"rateLimitProbability,omitempty"`
	TimeoutNext          int                    `json:"timeoutNext,omitempty"`
	TimeoutHold          any                    `json:"timeoutHold,omitempty"`
	FailAfterAcceptNext  int                    `json:"failAfterAcceptNext,omitempty"`
	Latency              any                    `json:"latency,omitempty"`
	DuplicateCallbacks   float64                `json:"duplicateCallbacks,omitempty"`
	ReorderCallbacks     float64                `json:"reorderCallbacks,omitempty"`
	FinalStatus          string                 `json:"finalStatus,omitempty"`
	ErrorCode            int                    `json:"errorCode,omitempty"`
	Numbers              map[string]NumberFault `json:"numbers,omitempty"`
}

// MarshalJSON writes durations as Go duration strings ("150ms").
func (f Faults) MarshalJSON() ([]byte, error) {
	j := faultsJSON{FailNext: f.FailNext, FailStatus: f.FailStatus, RateLimitNext: f.RateLimitNext,
		RateLimitProbability: f.RateLimitProbability, TimeoutNext: f.TimeoutNext, FailAfterAcceptNext: f.FailAfterAcceptNext,
		DuplicateCallbacks: f.DuplicateCallbacks, ReorderCallbacks: f.ReorderCallbacks,
		FinalStatus: f.FinalStatus, ErrorCode: f.ErrorCode, Numbers: f.Numbers}
	if f.TimeoutHold > 0 {
		j.TimeoutHold = f.TimeoutHold.String()
	}
	if f.Latency > 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads durations as strings ("150ms") or milliseconds.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	hold, err := parseDuration(j.TimeoutHold)
	if err != nil {
		return fmt.Errorf("timeoutHold: %w", err)
	}
	lat, err := parseDuration(j.Latency)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	*f = Faults{FailNext: j.FailNext, FailStatus: j.FailStatus, RateLimitNext: j.RateLimitNext,
		RateLimitProbability: j.RateLimitProbability, TimeoutNext: j.TimeoutNext, TimeoutHold: hold, FailAfterAcceptNext: j.FailAfterAcceptNext,
		Latency: lat, DuplicateCallbacks: j.DuplicateCallbacks, ReorderCallbacks: j.ReorderCallbacks,
		FinalStatus: j.FinalStatus, ErrorCode: j.ErrorCode, Numbers: j.Numbers}
	return nil
}

// validate checks values the API cannot act on.
func (f Faults) validate() error {
	if f.FailNext < 0 || f.RateLimitNext < 0 || f.TimeoutNext < 0 || f.FailAfterAcceptNext < 0 {
		return fmt.Errorf("counts must not be negative")
	}
	if f.FailStatus != 0 && (f.FailStatus < 500 || f.FailStatus > 599) {
		return fmt.Errorf("failStatus %d: want 500..599", f.FailStatus)
	}
	for name, p := range map[string]float64{"rateLimitProbability": f.RateLimitProbability,
		"duplicateCallbacks": f.DuplicateCallbacks, "reorderCallbacks": f.ReorderCallbacks} {
		if p < 0 || p > 1 {
			return fmt.Errorf("%s %v: want 0..1", name, p)
		}
	}
	if f.TimeoutHold < 0 || f.Latency < 0 {
		return fmt.Errorf("durations must not be negative")
	}
	if err := validFinal(f.FinalStatus); err != nil {
		return err
	}
	for n, nf := range f.Numbers {
		if err := validFinal(nf.FinalStatus); err != nil {
			return fmt.Errorf("numbers[%s]: %w", n, err)
		}
		if nf.Reject != 0 && (nf.Reject < 10000 || nf.Reject > 99999) {
			return fmt.Errorf("numbers[%s]: reject %d is not a Twilio error code", n, nf.Reject)
		}
	}
	return nil
}

func validFinal(s string) error {
	switch s {
	case "", "delivered", "undelivered", "failed":
		return nil
	}
	return fmt.Errorf("finalStatus %q: want delivered, undelivered or failed", s)
}

// parseDuration accepts nil, a duration string or a number of milliseconds.
func parseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case string:
		if x == "" {
			return 0, nil
		}
		return time.ParseDuration(x)
	case float64:
		return time.Duration(x * float64(time.Millisecond)), nil
	}
	return 0, fmt.Errorf("want a duration string or milliseconds, got %v", v)
}

func (f Faults) clone() Faults {
	f.Numbers = maps.Clone(f.Numbers)
	return f
}

// SetFaults replaces the faults.
func (e *Emulator) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	e.fmu.Lock()
	e.faults = f.clone()
	e.fmu.Unlock()
	return nil
}

// Faults returns the current faults.
func (e *Emulator) Faults() Faults {
	e.fmu.Lock()
	defer e.fmu.Unlock()
	return e.faults.clone()
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.fmu.Lock()
	e.faults = Faults{}
	e.fmu.Unlock()
}

func (e *Emulator) updateFaults(fn func(*Faults)) {
	e.fmu.Lock()
	fn(&e.faults)
	e.fmu.Unlock()
}

// FailNextSends makes the next n sends answer status (500..599; 0: 500)
// with Twilio's error 20500.
func (e *Emulator) FailNextSends(n, status int) {
	if status < 500 || status > 599 {
		status = 500
	}
	e.updateFaults(func(f *Faults) { f.FailNext, f.FailStatus = max(n, 0), status })
}

// RateLimitNextSends makes the next n sends answer 429 (20429).
func (e *Emulator) RateLimitNextSends(n int) {
	e.updateFaults(func(f *Faults) { f.RateLimitNext = max(n, 0) })
}

// RateLimitRandomly answers each send 429 with probability p (0 stops).
func (e *Emulator) RateLimitRandomly(p float64) {
	e.updateFaults(func(f *Faults) { f.RateLimitProbability = min(max(p, 0), 1) })
}

// TimeoutAfterAccept makes the next n accepted sends go unanswered: stored,
// but the connection is held for hold (0: until the client gives up) and
// closed without a response.
func (e *Emulator) TimeoutAfterAccept(n int, hold time.Duration) {
	e.updateFaults(func(f *Faults) { f.TimeoutNext, f.TimeoutHold = max(n, 0), max(hold, 0) })
}

// SetLatency adds d to every API request (0 removes it).
func (e *Emulator) SetLatency(d time.Duration) {
	e.updateFaults(func(f *Faults) { f.Latency = max(d, 0) })
}

// DuplicateCallbacks sends each status callback twice with probability p.
func (e *Emulator) DuplicateCallbacks(p float64) {
	e.updateFaults(func(f *Faults) { f.DuplicateCallbacks = min(max(p, 0), 1) })
}

// ReorderCallbacks sends a message's callbacks final-status-first with
// probability p.
func (e *Emulator) ReorderCallbacks(p float64) {
	e.updateFaults(func(f *Faults) { f.ReorderCallbacks = min(max(p, 0), 1) })
}

// ForceFinalStatus forces the final status of every message accepted from
// now on ("undelivered", "failed"; "" or "delivered" restores delivery);
// code 0 picks 30003 / 30008.
func (e *Emulator) ForceFinalStatus(status string, code int) error {
	if err := validFinal(status); err != nil {
		return err
	}
	e.updateFaults(func(f *Faults) { f.FinalStatus, f.ErrorCode = status, code })
	return nil
}

// SetNumberFault sets (a zero NumberFault removes) the fault of recipient
// number.
func (e *Emulator) SetNumberFault(number string, nf NumberFault) error {
	if err := validFinal(nf.FinalStatus); err != nil {
		return err
	}
	e.updateFaults(func(f *Faults) {
		if nf == (NumberFault{}) {
			delete(f.Numbers, number)
			return
		}
		if f.Numbers == nil {
			f.Numbers = map[string]NumberFault{}
		}
		f.Numbers[number] = nf
	})
	return nil
}

// RejectTo answers every send to number with Twilio error code (21610,
// 21211, …).
func (e *Emulator) RejectTo(number string, code int) {
	_ = e.SetNumberFault(number, NumberFault{Reject: code})
}

// UndeliverTo makes messages to number end undelivered with code (0:
// 30003).
func (e *Emulator) UndeliverTo(number string, code int) {
	_ = e.SetNumberFault(number, NumberFault{FinalStatus: "undelivered", ErrorCode: code})
}

// sendFault is what the faults decide for one send before it is parsed.
type sendFault struct {
	status, code int // an error answer, or 0
	latency      time.Duration
}

// preSend consumes the counted pre-parse faults (5xx, 429) of one send.
func (e *Emulator) preSend() sendFault {
	e.fmu.Lock()
	defer e.fmu.Unlock()
	f := &e.faults
	sf := sendFault{latency: f.Latency}
	switch {
	case f.FailNext > 0:
		f.FailNext--
		sf.status, sf.code = f.FailStatus, 20500
		if sf.status == 0 {
			sf.status = 500
		}
	case f.RateLimitNext > 0:
		f.RateLimitNext--
		sf.status, sf.code = 429, 20429
	case f.RateLimitProbability > 0 && rand.Float64() < f.RateLimitProbability:
		sf.status, sf.code = 429, 20429
	}
	return sf
}

// acceptFault is what the faults decide for a send that passed validation.
type acceptFault struct {
	reject       int // Twilio error code to answer with, or 0
	final        string
	errorCode    int
	dupP, reordP float64
}

func (e *Emulator) onAccept(to string) acceptFault {
	e.fmu.Lock()
	defer e.fmu.Unlock()
	f := &e.faults
	af := acceptFault{final: f.FinalStatus, errorCode: f.ErrorCode, dupP: f.DuplicateCallbacks, reordP: f.ReorderCallbacks}
	if nf, ok := f.Numbers[to]; ok {
		if nf.Reject != 0 {
			return acceptFault{reject: nf.Reject}
		}
		if nf.FinalStatus != "" {
			af.final, af.errorCode = nf.FinalStatus, nf.ErrorCode
		}
	}
	if af.final == "" {
		af.final = "delivered"
	}
	switch {
	case af.final == "delivered":
		af.errorCode = 0
	case af.errorCode == 0 && af.final == "failed":
		af.errorCode = 30008
	case af.errorCode == 0:
		af.errorCode = 30003
	}
	return af
}

// takeTimeout consumes one timeout-after-accept, after the message was
// stored.
// FailAfterAccept makes the next n accepted sends answer 502 after the
// message was stored.
func (e *Emulator) FailAfterAccept(n int) {
	e.updateFaults(func(f *Faults) { f.FailAfterAcceptNext = max(n, 0) })
}

func (e *Emulator) takeFailAfterAccept() bool {
	e.fmu.Lock()
	defer e.fmu.Unlock()
	if e.faults.FailAfterAcceptNext <= 0 {
		return false
	}
	e.faults.FailAfterAcceptNext--
	return true
}

func (e *Emulator) takeTimeout() (bool, time.Duration) {
	e.fmu.Lock()
	defer e.fmu.Unlock()
	if e.faults.TimeoutNext <= 0 {
		return false, 0
	}
	e.faults.TimeoutNext--
	return true, e.faults.TimeoutHold
}

func (e *Emulator) latency() time.Duration {
	e.fmu.Lock()
	defer e.fmu.Unlock()
	return e.faults.Latency
}
