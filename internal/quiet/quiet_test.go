package quiet_test

import (
	"testing"
	"time"

	"github.com/nurture-sms/nurture/internal/quiet"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWindowNext(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	la := mustLoc(t, "America/Los_Angeles")
	syd := mustLoc(t, "Australia/Sydney")
	w := quiet.Default
	for _, c := range []struct {
		name string
		at   time.Time
		loc  *time.Location
		want time.Time
	}{
		{"inside", time.Date(2026, 6, 10, 14, 0, 0, 0, ny), ny, time.Date(2026, 6, 10, 14, 0, 0, 0, ny)},
		{"opening instant", time.Date(2026, 6, 10, 9, 0, 0, 0, ny), ny, time.Date(2026, 6, 10, 9, 0, 0, 0, ny)},
		{"before opening", time.Date(2026, 6, 10, 6, 30, 0, 0, ny), ny, time.Date(2026, 6, 10, 9, 0, 0, 0, ny)},
		{"closing instant is outside", time.Date(2026, 6, 10, 20, 0, 0, 0, ny), ny, time.Date(2026, 6, 11, 9, 0, 0, 0, ny)},
		{"late evening", time.Date(2026, 6, 10, 23, 59, 0, 0, ny), ny, time.Date(2026, 6, 11, 9, 0, 0, 0, ny)},
		// The same UTC instant is inside for one zone and outside for another.
		{"UTC noon is 08:00 in LA", time.Date(2026, 6, 10, 15, 0, 0, 0, time.UTC), la, time.Date(2026, 6, 10, 9, 0, 0, 0, la)},
		{"UTC noon is 11:00 in NY", time.Date(2026, 6, 10, 15, 0, 0, 0, time.UTC), ny, time.Date(2026, 6, 10, 15, 0, 0, 0, time.UTC)},
		// Spring forward (2026-03-08, 02:00 EST -> 03:00 EDT): 09:00 is EDT, 13:00 UTC.
		{"spring forward night", time.Date(2026, 3, 8, 1, 30, 0, 0, ny), ny, time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)},
		{"day before spring forward", time.Date(2026, 3, 7, 21, 0, 0, 0, ny), ny, time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)},
		// Fall back (2026-11-01, 02:00 EDT -> 01:00 EST): 09:00 is EST, 14:00 UTC.
		{"fall back night", time.Date(2026, 11, 1, 1, 30, 0, 0, ny), ny, time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC)},
		{"evening before fall back", time.Date(2026, 10, 31, 22, 0, 0, 0, ny), ny, time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC)},
		// Southern hemisphere: Sydney springs forward on 2026-10-04.
		{"Sydney spring forward", time.Date(2026, 10, 4, 2, 30, 0, 0, syd), syd, time.Date(2026, 10, 3, 22, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := w.Next(c.at, c.loc); !got.Equal(c.want) {
				t.Fatalf("Next(%v) = %v (%v), want %v", c.at, got, got.In(c.loc), c.want.In(c.loc))
			}
		})
	}
}

// The window's length in UTC follows the local clocks: 11 hours on every
// local day, including the days clocks change.
func TestWindowAcrossDSTDays(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	w := quiet.Default
	for _, day := range []time.Time{time.Date(2026, 3, 8, 0, 0, 0, 0, ny), time.Date(2026, 11, 1, 0, 0, 0, 0, ny)} {
		open := w.Next(day, ny)
		lastInside := open.Add(11*time.Hour - time.Minute)
		if got := w.Next(lastInside, ny); !got.Equal(lastInside) {
			t.Fatalf("%s: 19:59 local is outside the window (%v)", day.Format("2006-01-02"), got)
		}
		if got := w.Next(open.Add(11*time.Hour), ny); got.Sub(open) < 23*time.Hour {
			t.Fatalf("%s: 20:00 local is inside the window", day.Format("2006-01-02"))
		}
		if h := open.In(ny).Hour(); h != 9 {
			t.Fatalf("%s: opens at %d:00 local", day.Format("2006-01-02"), h)
		}
	}
}

func TestWindowDays(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	weekdays := quiet.Window{Start: 9 * 60, End: 17 * 60, Days: quiet.EveryDay &^ (1 << time.Saturday) &^ (1 << time.Sunday)}
	fri := time.Date(2026, 6, 12, 18, 0, 0, 0, ny) // a Friday evening
	if got, want := weekdays.Next(fri, ny), time.Date(2026, 6, 15, 9, 0, 0, 0, ny); !got.Equal(want) {
		t.Fatalf("Friday evening: %v, want Monday 09:00 %v", got, want)
	}
}

func TestWindowValidate(t *testing.T) {
	for _, c := range []struct {
		w  quiet.Window
		ok bool
	}{
		{quiet.Default, true},
		{quiet.Window{Start: 8 * 60, End: 21 * 60, Days: quiet.EveryDay}, true},
		{quiet.Window{Start: 7*60 + 59, End: 20 * 60, Days: quiet.EveryDay}, false},
		{quiet.Window{Start: 9 * 60, End: 21*60 + 1, Days: quiet.EveryDay}, false},
		{quiet.Window{Start: 12 * 60, End: 12 * 60, Days: quiet.EveryDay}, false},
		{quiet.Window{Start: 9 * 60, End: 10 * 60}, false},
	} {
		if err := c.w.Validate(); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.w, err)
		}
	}
}

func TestClose(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	w := quiet.Default
	in := time.Date(2026, 6, 10, 19, 59, 30, 0, ny)
	if got := w.Close(in, ny); !got.Equal(time.Date(2026, 6, 10, 20, 0, 0, 0, ny)) {
		t.Fatalf("inside: closes %v", got)
	}
	out := time.Date(2026, 6, 10, 20, 0, 0, 0, ny)
	if got := w.Close(out, ny); !got.Equal(out) {
		t.Fatalf("outside: %v", got)
	}
}

func TestCap(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	c := quiet.DefaultCap
	if got := c.Next(now, 2, now.Add(-time.Hour)); !got.Equal(now) {
		t.Fatalf("under the cap: %v", got)
	}
	oldest := now.Add(-20 * time.Hour)
	if got := c.Next(now, 3, oldest); !got.Equal(oldest.Add(24 * time.Hour)) {
		t.Fatalf("at the cap: %v", got)
	}
}

func FuzzWindowNext(f *testing.F) {
	f.Add(int64(1780000000), 9*60, 20*60, uint8(127), "America/New_York")
	f.Add(int64(1772953200), 8*60, 21*60, uint8(65), "Europe/London")
	f.Fuzz(func(t *testing.T, unix int64, start, end int, days uint8, zone string) {
		w := quiet.Window{Start: start, End: end, Days: quiet.Days(days)}
		loc, err := time.LoadLocation(zone)
		if err != nil || w.Validate() != nil || unix < 0 || unix > 1<<40 {
			return
		}
		at := time.Unix(unix, 0)
		got := w.Next(at, loc)
		if got.Before(at) {
			t.Fatalf("Next went back in time: %v < %v", got, at)
		}
		lt := got.In(loc)
		m := lt.Hour()*60 + lt.Minute()
		if !w.Days.Has(lt.Weekday()) || m < w.Start || m >= w.End {
			t.Fatalf("Next(%v) = %v local %v outside %v", at, got, lt, w)
		}
		if got.Sub(at) > 8*24*time.Hour {
			t.Fatalf("Next(%v) = %v: more than a week ahead", at, got)
		}
		// Close: inside the window, a later instant still inside it up to
		// the last minute; outside, the instant itself.
		c := w.Close(got, loc)
		if c.Before(got) {
			t.Fatalf("Close(%v) = %v, before it", got, c)
		}
		if c.After(got) {
			if last := c.Add(-time.Minute); last.After(got) && !w.Next(last, loc).Equal(last) {
				t.Fatalf("Close(%v) = %v but a minute before it is outside %v", got, c, w)
			}
			if !w.Next(c, loc).After(c) {
				t.Fatalf("Close(%v) = %v is still inside %v", got, c, w)
			}
		} else if w.Next(got, loc).Equal(got) && !got.Equal(w.Close(got, loc)) {
			t.Fatalf("Close of an instant inside the window is itself")
		}
	})
}
