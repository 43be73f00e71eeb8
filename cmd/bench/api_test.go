package main

import (
	"math"
	"testing"
)

// heyOut is hey v0.1.5's summary as it prints it (note the "%%").
const heyOut = `
Summary:
  Total:	15.0203 secs
  Slowest:	0.5581 secs
  Fastest:	0.0012 secs
  Average:	0.0178 secs
  Requests/sec:	1789.2184
  
Response time histogram:
  0.001 [1]	|
  0.057 [5334]	|■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■

Latency distribution:
  10%% in 0.0080 secs
  50%% in 0.0154 secs
  99%% in 0.0637 secs

Details (average, fastest, slowest):
  DNS+dialup:	0.0000 secs, 0.0000 secs, 0.0028 secs
  resp read:	0.0004 secs, 0.0000 secs, 0.0174 secs

Status code distribution:
  [200]	26870 responses
  [500]	3 responses

Error distribution:
  [2]	Get "http://127.0.0.1:1/v1/leads?limit=100": context deadline exceeded (Client.Timeout exceeded while awaiting headers)
`

func TestParseHey(t *testing.T) {
	h, err := parseHey(heyOut, true)
	if err != nil {
		t.Fatal(err)
	}
	if h.seconds != 15.0203 || h.rps != 1789.2184 || math.Abs(h.p50ms-15.4) > 1e-9 || math.Abs(h.p99ms-63.7) > 1e-9 {
		t.Fatalf("got %+v", h)
	}
	if h.codes[200] != 26870 || h.codes[500] != 3 || h.errors != 5 {
		t.Fatalf("codes %v errors %d", h.codes, h.errors)
	}
	if _, err := parseHey("Summary:\n  Total:\t1 secs\n", false); err == nil {
		t.Fatal("a summary without rps was accepted")
	}
	short := "Summary:\n  Total:\t3.1 secs\n  Requests/sec:\t17.0\nLatency distribution:\n  10%% in 2.1 secs\n  0%% in 0.0000 secs\n" +
		"Status code distribution:\n  [200]\t52 responses\n"
	if _, err := parseHey(short, true); err == nil {
		t.Fatal("a summary without the 99% line was accepted")
	}
	if h, err := parseHey(short, false); err != nil || h.codes[200] != 52 {
		t.Fatalf("warm-up summary: %+v %v", h, err)
	}
}

func TestParsePgbench(t *testing.T) {
	out := `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: /tmp/page.sql
number of transactions actually processed: 86614
number of failed transactions: 0 (0.000%)
latency average = 0.023 ms
tps = 86817.935330 (without initial connection time)
`
	if tps, err := parsePgbench(out); err != nil || tps != 86817.935330 {
		t.Fatalf("tps %v err %v", tps, err)
	}
	if _, err := parsePgbench("number of failed transactions: 3 (0.1%)\ntps = 5.0 (without initial connection time)\n"); err == nil {
		t.Fatal("failed transactions were accepted")
	}
}

func TestPgbenchSQL(t *testing.T) {
	got := pgbenchSQL("SELECT a FROM t\n\tWHERE x = $1 AND y = $2 LIMIT $12", "cid", "lim")
	if want := "SELECT a FROM t WHERE x = :cid AND y = :lim LIMIT $12;\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}
