package airtableemu

import (
	"encoding/json"
	"fmt"
	"time"
)

// Faults are the failures injected into one base's API. The zero value
// injects nothing.
type Faults struct {
	// Truncate ends listings early: the page that reaches the limit comes
	// back without an offset, as if the table ended there.
	Truncate *TruncateFault `json:"truncate,omitempty"`
	// FailPage answers a 5xx to list page Page (1 = the request without an
	// offset). The offset that asked for the page stays valid, so a retry
	// can succeed when Once is set.
	FailPage *FailPageFault `json:"failPage,omitempty"`
	// FailNext answers a 5xx to the next Count API requests of any kind.
	FailNext *FailNextFault `json:"failNext,omitempty"`
	// Latency is added to every API request of the base.
	Latency time.Duration `json:"-"`
}

// TruncateFault limits how many records one listing walk returns. The limit
// is fixed when a walk starts (its first page), so walks already under way
// are not affected.
type TruncateFault struct {
	// AfterRecords: the walk ends after this many records (0: an empty
	// listing). Ignored when Fraction is set.
	AfterRecords int `json:"afterRecords,omitempty"`
	// Fraction (0..1) of the records the walk would return; rounded down.
	Fraction float64 `json:"fraction,omitempty"`
	// Once: only the next walk started is truncated.
	Once bool `json:"once,omitempty"`
}

// FailPageFault fails list page Page of every walk (or only once).
type FailPageFault struct {
	Page   int  `json:"page"`
	Status int  `json:"status,omitempty"` // default 500
	Once   bool `json:"once,omitempty"`
}

// FailNextFault fails the next Count API requests.
type FailNextFault struct {
	Count  int `json:"count"`
	Status int `json:"status,omitempty"` // default 500
}

type faultsJSON struct {
	Truncate *TruncateFault `json:"truncate,omitempty"`
	FailPage *FailPageFault `json:"failPage,omitempty"`
	FailNext *FailNextFault `json:"failNext,omitempty"`
	Latency  any            `json:"latency,omitempty"`
}

// MarshalJSON writes latency as a Go duration string ("150ms").
func (f Faults) MarshalJSON() ([]byte, error) {
	j := faultsJSON{Truncate: f.Truncate, FailPage: f.FailPage, FailNext: f.FailNext}
	if f.Latency > 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads latency as a duration string ("150ms") or a number of
// milliseconds.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d, err := parseDuration(j.Latency)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	*f = Faults{Truncate: j.Truncate, FailPage: j.FailPage, FailNext: j.FailNext, Latency: d}
	return nil
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
	if f.Truncate != nil {
		c := *f.Truncate
		f.Truncate = &c
	}
	if f.FailPage != nil {
		c := *f.FailPage
		f.FailPage = &c
	}
	if f.FailNext != nil {
		c := *f.FailNext
		f.FailNext = &c
	}
	return f
}

// SetFaults replaces the faults of a base.
func (e *Emulator) SetFaults(baseID string, f Faults) error {
	return e.updateFaults(baseID, func(cur *Faults) { *cur = f.clone() })
}

// GetFaults returns the faults of a base.
func (e *Emulator) GetFaults(baseID string) (Faults, error) {
	b := e.base(baseID)
	if b == nil {
		return Faults{}, ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.faults.clone(), nil
}

// ClearFaults removes every fault of a base; baseID "" clears all bases.
func (e *Emulator) ClearFaults(baseID string) error {
	if baseID == "" {
		for _, b := range e.allBases() {
			b.mu.Lock()
			b.faults = Faults{}
			b.mu.Unlock()
		}
		return nil
	}
	return e.updateFaults(baseID, func(cur *Faults) { *cur = Faults{} })
}

// TruncateListingsAfter makes listing walks end after n records.
func (e *Emulator) TruncateListingsAfter(baseID string, n int, once bool) error {
	return e.updateFaults(baseID, func(cur *Faults) {
		cur.Truncate = &TruncateFault{AfterRecords: max(n, 0), Once: once}
	})
}

// TruncateListingsFraction makes listing walks end after a fraction (0..1)
// of their records.
func (e *Emulator) TruncateListingsFraction(baseID string, fraction float64, once bool) error {
	return e.updateFaults(baseID, func(cur *Faults) {
		cur.Truncate = &TruncateFault{Fraction: min(max(fraction, 0), 1), Once: once}
		if cur.Truncate.Fraction == 0 {
			cur.Truncate.AfterRecords = 0
		}
	})
}

// FailListPage makes list page `page` (1-based) answer status (default 500).
func (e *Emulator) FailListPage(baseID string, page, status int, once bool) error {
	return e.updateFaults(baseID, func(cur *Faults) {
		cur.FailPage = &FailPageFault{Page: page, Status: status, Once: once}
	})
}

// FailNextRequests makes the next n API requests to the base answer status
// (default 500).
func (e *Emulator) FailNextRequests(baseID string, n, status int) error {
	return e.updateFaults(baseID, func(cur *Faults) {
		cur.FailNext = &FailNextFault{Count: n, Status: status}
	})
}

// SetLatency adds d to every API request of the base (0 removes it).
func (e *Emulator) SetLatency(baseID string, d time.Duration) error {
	return e.updateFaults(baseID, func(cur *Faults) { cur.Latency = max(d, 0) })
}

func (e *Emulator) updateFaults(baseID string, fn func(*Faults)) error {
	b := e.base(baseID)
	if b == nil {
		return ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	fn(&b.faults)
	return nil
}

// ExpireOffsets invalidates every outstanding list offset of a base (""
// means every base): the next request with one of them gets 422
// LIST_RECORDS_ITERATOR_NOT_AVAILABLE. It returns how many walks it ended.
func (e *Emulator) ExpireOffsets(baseID string) (int, error) {
	var bs []*base
	if baseID == "" {
		bs = e.allBases()
	} else if b := e.base(baseID); b != nil {
		bs = []*base{b}
	} else {
		return 0, ErrNotFound
	}
	n := 0
	for _, b := range bs {
		b.mu.Lock()
		n += len(b.iters)
		clear(b.iters)
		b.mu.Unlock()
	}
	return n, nil
}

// Penalize puts a base into rate-limit penalty for d (0: the configured
// penalty), as if it had just exceeded the rate limit.
func (e *Emulator) Penalize(baseID string, d time.Duration) error {
	b := e.base(baseID)
	if b == nil {
		return ErrNotFound
	}
	if d <= 0 {
		d = e.Settings().Penalty
	}
	now := e.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lim.penaltyUntil = now.Add(d)
	return nil
}

func (e *Emulator) allBases() []*base {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*base, 0, len(e.bases))
	for _, b := range e.bases {
		out = append(out, b)
	}
	return out
}

// limiter is a token bucket of `rate` tokens refilled at `rate` per second;
// an empty bucket starts a penalty during which every request is refused.
type limiter struct {
	tokens       float64
	last         time.Time
	penaltyUntil time.Time
}

func (l *limiter) allow(now time.Time, rate int, penalty time.Duration) bool {
	if now.Before(l.penaltyUntil) {
		return false
	}
	if rate <= 0 {
		return true
	}
	r := float64(rate)
	if !l.penaltyUntil.IsZero() || l.last.IsZero() {
		// A fresh base, or one that served its penalty: full bucket.
		l.penaltyUntil = time.Time{}
		l.tokens, l.last = r, now
	}
	if el := now.Sub(l.last).Seconds(); el > 0 {
		l.tokens = min(r, l.tokens+el*r)
	}
	l.last = now
	l.tokens = min(l.tokens, r)
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	l.penaltyUntil = now.Add(penalty)
	return false
}

// serverError is the body of an injected 5xx.
func serverError(status int) *apiError {
	switch status {
	case 502:
		return typedErr(502, "BAD_GATEWAY", "Airtable's servers are restarting or an unexpected outage is in progress. Retry the request.")
	case 503:
		return typedErr(503, "SERVICE_UNAVAILABLE", "The server could not process your request in time. Retry the request with backoff.")
	case 504:
		return typedErr(504, "GATEWAY_TIMEOUT", "The server did not answer in time. Retry the request.")
	default:
		if status < 500 || status > 599 {
			status = 500
		}
		return typedErr(status, "SERVER_ERROR", "Try again. If the problem persists, contact support.")
	}
}
