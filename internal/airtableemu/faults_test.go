package airtableemu_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

func TestFaultTruncatedListing(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	e.itemsBase(t, 250)
	tbl := e.client.GetTable(testBase, "Items")

	if err := e.emu.TruncateListingsAfter(testBase, 150, false); err != nil {
		t.Fatal(err)
	}
	recs, sizes := walk(t, tbl, nil)
	if len(recs) != 150 || !slices.Equal(sizes, []int{100, 50}) {
		t.Fatalf("truncated after 150: %d records, pages %v", len(recs), sizes)
	}
	// Persistent until cleared.
	if recs, _ := walk(t, tbl, nil); len(recs) != 150 {
		t.Fatalf("second walk: %d", len(recs))
	}

	if err := e.emu.TruncateListingsFraction(testBase, 0.5, true); err != nil {
		t.Fatal(err)
	}
	if recs, sizes := walk(t, tbl, nil); len(recs) != 125 || !slices.Equal(sizes, []int{100, 25}) {
		t.Fatalf("fraction 0.5: %d %v", len(recs), sizes)
	}
	// Once: the next walk is whole again.
	if recs, _ := walk(t, tbl, nil); len(recs) != 250 {
		t.Fatalf("after once: %d", len(recs))
	}

	// Truncation on the first page.
	if err := e.emu.TruncateListingsAfter(testBase, 30, true); err != nil {
		t.Fatal(err)
	}
	page, err := tbl.GetRecords().Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 30 || page.Offset != "" {
		t.Fatalf("first page truncated: %d records offset %q", len(page.Records), page.Offset)
	}
}

func TestFaultFailPage(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	e.itemsBase(t, 250)
	tbl := e.client.GetTable(testBase, "Items")

	if err := e.emu.FailListPage(testBase, 2, 503, true); err != nil {
		t.Fatal(err)
	}
	p1, err := tbl.GetRecords().Do()
	if err != nil {
		t.Fatal(err)
	}
	_, err = tbl.GetRecords().WithOffset(p1.Offset).Do()
	httpErr(t, err, 503, "SERVICE_UNAVAILABLE")
	// The offset survives: retrying the page works and the walk completes.
	p2, err := tbl.GetRecords().WithOffset(p1.Offset).Do()
	if err != nil {
		t.Fatal(err)
	}
	p3, err := tbl.GetRecords().WithOffset(p2.Offset).Do()
	if err != nil || len(p3.Records) != 50 || p3.Offset != "" {
		t.Fatalf("page 3: %v", err)
	}

	// Always: every walk fails on page 2, page 1 and 3 are fine.
	if err := e.emu.FailListPage(testBase, 2, 0, false); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p1, err := tbl.GetRecords().Do()
		if err != nil {
			t.Fatal(err)
		}
		_, err = tbl.GetRecords().WithOffset(p1.Offset).Do()
		httpErr(t, err, 500, "SERVER_ERROR")
	}
	if got := e.emu.Stats().Bases[testBase].InjectedFailures; got != 3 {
		t.Fatalf("injected failures %d", got)
	}
	if err := e.emu.ClearFaults(testBase); err != nil {
		t.Fatal(err)
	}
	if recs, _ := walk(t, tbl, nil); len(recs) != 250 {
		t.Fatalf("after clear: %d", len(recs))
	}

	// FailNextRequests fails any kind of request.
	if err := e.emu.FailNextRequests(testBase, 2, 502); err != nil {
		t.Fatal(err)
	}
	_, err = tbl.AddRecords(&airtable.Records{Records: []*airtable.Record{{Fields: map[string]any{"Name": "x"}}}})
	httpErr(t, err, 502)
	_, err = tbl.GetRecords().Do()
	httpErr(t, err, 502)
	if _, err := tbl.GetRecords().Do(); err != nil {
		t.Fatal(err)
	}
}

func TestFaultExpiredOffsets(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, airtableemu.Options{OffsetTTL: time.Minute, Now: clock.Now})
	e.itemsBase(t, 250)
	tbl := e.client.GetTable(testBase, "Items")

	p1, err := tbl.GetRecords().Do()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.emu.ExpireOffsets(testBase); err != nil || n != 1 {
		t.Fatalf("expired %d walks, err %v", n, err)
	}
	_, err = tbl.GetRecords().WithOffset(p1.Offset).Do()
	httpErr(t, err, 422, `{"error":{"type":"LIST_RECORDS_ITERATOR_NOT_AVAILABLE"`)

	// TTL counts inactivity: each page served extends the walk.
	p1, err = tbl.GetRecords().Do()
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Second)
	p2, err := tbl.GetRecords().WithOffset(p1.Offset).Do()
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * time.Second)
	_, err = tbl.GetRecords().WithOffset(p2.Offset).Do()
	httpErr(t, err, 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")
	if got := e.emu.Stats().IteratorErrors; got != 2 {
		t.Fatalf("iterator errors %d", got)
	}

	// The TTL is adjustable at run time.
	e.emu.SetOffsetTTL(10 * time.Minute)
	p1, _ = tbl.GetRecords().Do()
	clock.Advance(9 * time.Minute)
	if _, err := tbl.GetRecords().WithOffset(p1.Offset).Do(); err != nil {
		t.Fatal(err)
	}
}

func TestFaultLatency(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	e.itemsBase(t, 5)
	tbl := e.client.GetTable(testBase, "Items")
	if err := e.emu.SetLatency(testBase, 120*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := tbl.GetRecords().Do(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 120*time.Millisecond {
		t.Fatalf("request took %v, want at least the injected 120ms", el)
	}
	f, _ := e.emu.GetFaults(testBase)
	if f.Latency != 120*time.Millisecond {
		t.Fatalf("faults %+v", f)
	}
}

func TestBulkSeedAndFullListing(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	if _, err := e.emu.CreateBase(testBase, "Bulk", airtableemu.LeadsSpec()); err != nil {
		t.Fatal(err)
	}
	const n = 50_000
	fields := make([]map[string]any, n)
	for i := range fields {
		fields[i] = map[string]any{
			airtableemu.FieldFirstName: "Bulk",
			airtableemu.FieldLastName:  "Lead",
			airtableemu.FieldPhone:     "+15550000000",
			airtableemu.FieldEmail:     "bulk@example.com",
			airtableemu.FieldICPScore:  i % 101,
			airtableemu.FieldStatus:    "new",
			airtableemu.FieldTags:      []string{"trial"},
		}
	}
	ids, err := e.emu.SeedFields(testBase, airtableemu.LeadsTable, fields)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("seeded %d", len(ids))
	}
	recs, sizes := walk(t, e.client.GetTable(testBase, airtableemu.LeadsTable), nil)
	if len(recs) != n || len(sizes) != n/100 {
		t.Fatalf("listed %d records in %d pages", len(recs), len(sizes))
	}
	seen := make(map[string]bool, n)
	for i, r := range recs {
		if r.ID != ids[i] || seen[r.ID] {
			t.Fatalf("record %d: %s", i, r.ID)
		}
		seen[r.ID] = true
	}
	st := e.emu.Stats().Bases[testBase]
	if st.RecordsListed != n || st.ListRequests != n/100 {
		t.Fatalf("stats %+v", st)
	}
}
