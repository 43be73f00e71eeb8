// Package tz says whether a name is an IANA time zone, the one rule shared
// by the API (client time zones) and the Airtable sync (lead time zones).
package tz

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// answers caches time.LoadLocation: the standard library reads and parses
// the zoneinfo file on every call (~20 µs, which dominated a sync's CPU).
var (
	answers sync.Map // name -> bool
	cached  atomic.Int64
	zones   sync.Map // name -> *time.Location
)

// Load is time.LoadLocation, cached; for a name that is not a valid zone
// (see Valid) it answers false, for the caller to choose a fallback.
func Load(name string) (*time.Location, bool) {
	if l, hit := zones.Load(name); hit {
		return l.(*time.Location), true
	}
	if !Valid(name) {
		return nil, false
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	if cached.Add(1) < 10000 {
		zones.Store(name, l)
	}
	return l, true
}

// Valid reports whether name is an IANA time zone ("UTC" included, "Local"
// in any case not: it would mean the server's zone).
func Valid(name string) bool {
	if ok, hit := answers.Load(name); hit {
		return ok.(bool)
	}
	_, err := time.LoadLocation(name)
	ok := err == nil && name != "" && !strings.EqualFold(name, "local")
	if cached.Add(1) < 10000 { // bounded: junk names cannot grow it forever
		answers.Store(name, ok)
	}
	return ok
}
