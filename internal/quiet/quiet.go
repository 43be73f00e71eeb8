// Package quiet decides when a message may go: the sending window (quiet
// hours) in the recipient's own time zone, and the frequency cap.
//
// A Window is a daily span of local wall-clock time [Start, End) on the
// days it names. The TCPA bounds it to 08:00-21:00 local; Nurture's
// default is 09:00-20:00, Monday to Sunday. Times are computed with the
// IANA rules of the zone, so a window opens at 09:00 local on the days
// clocks change too.
package quiet

import (
	"fmt"
	"time"
)

// Bounds of any window (TCPA: 8 a.m. to 9 p.m. at the called party's location).
const (
	EarliestStart = 8 * 60  // 08:00
	LatestEnd     = 21 * 60 // 21:00
)

// Days is a set of weekdays: bit 1<<time.Weekday.
type Days uint8

// EveryDay is Monday to Sunday.
const EveryDay Days = 1<<7 - 1

// Has reports whether d holds the weekday.
func (d Days) Has(w time.Weekday) bool { return d&(1<<uint(w)) != 0 }

// Window is the daily sending window: minutes after local midnight.
type Window struct {
	Start, End int // [Start, End), minutes
	Days       Days
}

// Default is 09:00-20:00, every day.
var Default = Window{Start: 9 * 60, End: 20 * 60, Days: EveryDay}

// Validate refuses a window wider than 08:00-21:00, an empty one, or one
// with no day.
func (w Window) Validate() error {
	switch {
	case w.Start < EarliestStart || w.End > LatestEnd:
		return fmt.Errorf("the sending window must lie within 08:00-21:00 local time (TCPA); got %s", w)
	case w.Start >= w.End:
		return fmt.Errorf("the sending window must end after it starts; got %s", w)
	case w.Days&EveryDay == 0:
		return fmt.Errorf("the sending window needs at least one day")
	}
	return nil
}

func (w Window) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
}

// ParseClock reads "HH:MM" as minutes after midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Next is the first instant at or after t when a message may go to a
// recipient in loc: t itself inside the window, else the window's next
// opening. It never looks more than two weeks ahead (a window always has
// a day).
func (w Window) Next(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	y, m, d := lt.Date()
	for i := 0; i < 15; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if !w.Days.Has(day.Weekday()) {
			continue
		}
		open := at(day, w.Start, loc)
		close := at(day, w.End, loc)
		switch {
		case t.Before(open):
			return open
		case t.Before(close):
			return t
		}
	}
	return t // unreachable for a valid window
}

// Close is when the window that t is inside closes for a recipient in loc
// (a message may still go before it); t itself when t is outside the
// window.
func (w Window) Close(t time.Time, loc *time.Location) time.Time {
	if !w.Next(t, loc).Equal(t) {
		return t
	}
	lt := t.In(loc)
	y, m, d := lt.Date()
	return at(time.Date(y, m, d, 0, 0, 0, 0, loc), w.End, loc)
}

// at is the instant of the wall-clock minute on the local day. A minute
// that does not exist (a spring-forward gap) is normalized forward by
// time.Date, which is what a person would expect.
func at(day time.Time, minute int, loc *time.Location) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, minute/60, minute%60, 0, 0, loc)
}

// Cap is the frequency cap: at most Max messages per recipient in any
// rolling Period (Florida and Oklahoma: 3 per 24 hours).
type Cap struct {
	Max    int
	Period time.Duration
}

// DefaultCap is 3 messages per rolling 24 hours.
var DefaultCap = Cap{Max: 3, Period: 24 * time.Hour}

// Next is the first instant at or after t when one more message keeps the
// recipient within the cap, given how many were sent in (t-Period, t] and
// the oldest of them.
func (c Cap) Next(t time.Time, sent int, oldest time.Time) time.Time {
	if c.Max <= 0 || sent < c.Max {
		return t
	}
	// Only when the oldest leaves the window is there room again (the
	// next check counts again: others may still be inside).
	return oldest.Add(c.Period)
}
