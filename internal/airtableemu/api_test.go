package airtableemu_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

func TestListPaginationThroughClient(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	ids := e.itemsBase(t, 250)
	tbl := e.client.GetTable(testBase, "Items")

	recs, sizes := walk(t, tbl, nil)
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Fatalf("page sizes %v, want [100 100 50]", sizes)
	}
	if len(recs) != 250 {
		t.Fatalf("got %d records", len(recs))
	}
	for i, r := range recs {
		if r.ID != ids[i] {
			t.Fatalf("record %d: id %s, want %s (creation order)", i, r.ID, ids[i])
		}
		if !airtableemu.IsRecordID(r.ID) {
			t.Fatalf("bad record id %q", r.ID)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", r.CreatedTime); err != nil {
			t.Fatalf("createdTime %q: %v", r.CreatedTime, err)
		}
		if r.Fields["Name"] != fmt.Sprintf("item-%d", i) || r.Fields["N"] != float64(i) {
			t.Fatalf("record %d fields %v", i, r.Fields)
		}
	}

	// Smaller pages, and a table size that is a multiple of the page size:
	// the last full page carries no offset.
	_, sizes = walk(t, tbl, func(q *airtable.GetRecordsConfig) *airtable.GetRecordsConfig { return q.PageSize(50) })
	if !slices.Equal(sizes, []int{50, 50, 50, 50, 50}) {
		t.Fatalf("page sizes %v", sizes)
	}

	// maxRecords caps the walk.
	recs, _ = walk(t, tbl, func(q *airtable.GetRecordsConfig) *airtable.GetRecordsConfig {
		return q.PageSize(40).MaxRecords(90)
	})
	if len(recs) != 90 {
		t.Fatalf("maxRecords 90: got %d", len(recs))
	}

	// Offsets look like Airtable's.
	first, err := tbl.GetRecords().Do()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.Offset, "itr") || !strings.Contains(first.Offset, "/rec") {
		t.Fatalf("offset %q", first.Offset)
	}
}

func TestListPageSizeLimits(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	e.itemsBase(t, 5)
	tbl := e.client.GetTable(testBase, "Items")
	_, err := tbl.GetRecords().PageSize(101).Do()
	httpErr(t, err, 422, "INVALID_REQUEST_UNKNOWN")
	_, err = tbl.GetRecords().PageSize(0).Do()
	httpErr(t, err, 422, "INVALID_REQUEST_UNKNOWN")
	_, err = tbl.GetRecords().WithOffset("garbage").Do()
	httpErr(t, err, 422, "INVALID_OFFSET_VALUE")
	_, err = tbl.GetRecords().WithOffset("itrAAAAAAAAAAAAAA/recAAAAAAAAAAAAAA").Do()
	httpErr(t, err, 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")
}

func TestProjectionAndFilterByFormula(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	airtableemu.SeedDemo(e.emu)
	tbl := e.client.GetTable(airtableemu.DemoBaseAcme, airtableemu.LeadsTable)
	all, err := e.emu.Records(airtableemu.DemoBaseAcme, airtableemu.LeadsTable)
	if err != nil {
		t.Fatal(err)
	}
	count := func(pred func(map[string]any) bool) int {
		n := 0
		for _, r := range all {
			if pred(r.Fields) {
				n++
			}
		}
		return n
	}

	// fields[] projection.
	recs, _ := walk(t, tbl, func(q *airtable.GetRecordsConfig) *airtable.GetRecordsConfig {
		return q.ReturnFields(airtableemu.FieldFirstName, airtableemu.FieldPhone)
	})
	if len(recs) != len(all) {
		t.Fatalf("projection walk: %d of %d", len(recs), len(all))
	}
	for _, r := range recs {
		if len(r.Fields) != 2 || r.Fields[airtableemu.FieldFirstName] == nil || r.Fields[airtableemu.FieldPhone] == nil {
			t.Fatalf("projected fields %v", r.Fields)
		}
	}

	// Empty cells (false checkboxes, missing emails) are not returned.
	full, _ := walk(t, tbl, nil)
	for _, r := range full {
		if v, ok := r.Fields[airtableemu.FieldBooked]; ok && v != true {
			t.Fatalf("Booked present but %v", v)
		}
	}

	cases := []struct {
		formula string
		want    int
	}{
		{"", len(all)},
		{"{Status} = 'engaged'", count(func(f map[string]any) bool { return f[airtableemu.FieldStatus] == "engaged" })},
		{`{Status}="new"`, count(func(f map[string]any) bool { return f[airtableemu.FieldStatus] == "new" })},
		{"NOT({Email} = '')", count(func(f map[string]any) bool { return f[airtableemu.FieldEmail] != nil })},
		{"{Email} = ''", count(func(f map[string]any) bool { return f[airtableemu.FieldEmail] == nil })},
		{"AND({Booked}, NOT({SMS Stop}))", count(func(f map[string]any) bool {
			return f[airtableemu.FieldBooked] == true && f[airtableemu.FieldSMSStop] == nil
		})},
		{"{SMS Stop} = TRUE()", count(func(f map[string]any) bool { return f[airtableemu.FieldSMSStop] == true })},
		{"{ICP Score} >= 80", count(func(f map[string]any) bool { return f[airtableemu.FieldICPScore].(float64) >= 80 })},
		{"OR({Engagement} = 'high', {ICP Score} > 95)", count(func(f map[string]any) bool {
			return f[airtableemu.FieldEngagement] == "high" || f[airtableemu.FieldICPScore].(float64) > 95
		})},
		{"FIND('vip', {Tags})", count(func(f map[string]any) bool {
			tags, _ := f[airtableemu.FieldTags].([]any)
			return slices.Contains(tags, any("vip"))
		})},
		{"RECORD_ID() = '" + all[7].ID + "'", 1},
	}
	for _, c := range cases {
		recs, _ := walk(t, tbl, func(q *airtable.GetRecordsConfig) *airtable.GetRecordsConfig {
			if c.formula == "" {
				return q
			}
			return q.WithFilterFormula(c.formula)
		})
		if len(recs) != c.want {
			t.Errorf("%q: %d records, want %d", c.formula, len(recs), c.want)
		}
		if c.want == 0 {
			t.Errorf("%q: test data has no match; pick another formula", c.formula)
		}
	}

	_, err = tbl.GetRecords().WithFilterFormula("{Status = 'x'").Do()
	httpErr(t, err, 422, "INVALID_FILTER_BY_FORMULA")
	_, err = tbl.GetRecords().WithFilterFormula("{Nope} = 'x'").Do()
	httpErr(t, err, 422, "INVALID_FILTER_BY_FORMULA", "Unknown field names: Nope")
	_, err = tbl.GetRecords().ReturnFields("Nope").Do()
	httpErr(t, err, 422, "UNKNOWN_FIELD_NAME")

	// Sorting.
	sorted, _ := walk(t, tbl, func(q *airtable.GetRecordsConfig) *airtable.GetRecordsConfig {
		return q.WithSort(struct {
			FieldName string
			Direction string
		}{airtableemu.FieldICPScore, "desc"})
	})
	if len(sorted) != len(all) {
		t.Fatalf("sorted walk: %d", len(sorted))
	}
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].Fields[airtableemu.FieldICPScore].(float64) < sorted[i].Fields[airtableemu.FieldICPScore].(float64) {
			t.Fatalf("not sorted at %d", i)
		}
	}
}

func TestWritesThroughClient(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	if _, err := e.emu.CreateBase(testBase, "Test", airtableemu.LeadsSpec()); err != nil {
		t.Fatal(err)
	}
	tbl := e.client.GetTable(testBase, airtableemu.LeadsTable)

	batch := func(n int) *airtable.Records {
		rs := &airtable.Records{}
		for i := range n {
			rs.Records = append(rs.Records, &airtable.Record{Fields: map[string]any{
				airtableemu.FieldFirstName: fmt.Sprintf("P%d", i),
				airtableemu.FieldPhone:     fmt.Sprintf("+1555000%04d", i),
				airtableemu.FieldStatus:    "new",
				airtableemu.FieldTags:      []string{"vip"},
				airtableemu.FieldBooked:    false,
			}})
		}
		return rs
	}
	created, err := tbl.AddRecords(batch(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Records) != 10 {
		t.Fatalf("created %d", len(created.Records))
	}
	for i, r := range created.Records {
		if !airtableemu.IsRecordID(r.ID) || r.CreatedTime == "" || r.Fields[airtableemu.FieldFirstName] != fmt.Sprintf("P%d", i) {
			t.Fatalf("created record %+v", r)
		}
		if _, ok := r.Fields[airtableemu.FieldBooked]; ok {
			t.Fatal("false checkbox returned")
		}
	}

	_, err = tbl.AddRecords(batch(11))
	httpErr(t, err, 422, "INVALID_RECORDS", "A maximum of 10 records can be created per request but you have provided 11.")

	// PATCH merges.
	upd := &airtable.Records{}
	for _, r := range created.Records {
		upd.Records = append(upd.Records, &airtable.Record{ID: r.ID, Fields: map[string]any{airtableemu.FieldStatus: "contacted"}})
	}
	patched, err := tbl.UpdateRecordsPartial(upd)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range patched.Records {
		if r.Fields[airtableemu.FieldStatus] != "contacted" || r.Fields[airtableemu.FieldFirstName] != fmt.Sprintf("P%d", i) {
			t.Fatalf("patched %v", r.Fields)
		}
	}
	upd.Records = append(upd.Records, &airtable.Record{ID: created.Records[0].ID, Fields: map[string]any{}})
	_, err = tbl.UpdateRecordsPartial(upd)
	httpErr(t, err, 422, "INVALID_RECORDS", "updated per request")

	// PUT replaces.
	put, err := tbl.UpdateRecords(&airtable.Records{Records: []*airtable.Record{
		{ID: created.Records[0].ID, Fields: map[string]any{airtableemu.FieldLastName: "Only"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := put.Records[0].Fields; len(got) != 1 || got[airtableemu.FieldLastName] != "Only" {
		t.Fatalf("PUT result %v", got)
	}
	one, err := tbl.GetRecord(created.Records[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if one.Fields[airtableemu.FieldLastName] != "Only" || one.CreatedTime != created.Records[0].CreatedTime {
		t.Fatalf("GetRecord %+v", one)
	}
	// Record.UpdateRecordPartial (single PATCH through the batch endpoint).
	if _, err := one.UpdateRecordPartial(map[string]any{airtableemu.FieldICPScore: 42}); err != nil {
		t.Fatal(err)
	}

	// Unknown records.
	_, err = tbl.GetRecord("recAAAAAAAAAAAAAA")
	httpErr(t, err, 404, "NOT_FOUND")
	_, err = tbl.UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{
		{ID: "recAAAAAAAAAAAAAA", Fields: map[string]any{airtableemu.FieldStatus: "new"}},
	}})
	httpErr(t, err, 422, "ROW_DOES_NOT_EXIST")
	_, err = tbl.DeleteRecords([]string{"recAAAAAAAAAAAAAA"})
	httpErr(t, err, 404, "MODEL_ID_NOT_FOUND")

	// Schema validation: unknown field, bad value, new select option.
	_, err = tbl.AddRecords(&airtable.Records{Records: []*airtable.Record{{Fields: map[string]any{"Nope": "x"}}}})
	httpErr(t, err, 422, "UNKNOWN_FIELD_NAME")
	_, err = tbl.AddRecords(&airtable.Records{Records: []*airtable.Record{{Fields: map[string]any{airtableemu.FieldICPScore: "high"}}}})
	httpErr(t, err, 422, "INVALID_VALUE_FOR_COLUMN")
	_, err = tbl.AddRecords(&airtable.Records{Records: []*airtable.Record{{Fields: map[string]any{airtableemu.FieldStatus: "booked"}}}})
	httpErr(t, err, 422, "INVALID_MULTIPLE_CHOICE_OPTIONS")
	tc, err := tbl.AddRecords(&airtable.Records{Typecast: true, Records: []*airtable.Record{{Fields: map[string]any{
		airtableemu.FieldStatus: "booked", airtableemu.FieldICPScore: "77", airtableemu.FieldBooked: "true",
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	if f := tc.Records[0].Fields; f[airtableemu.FieldStatus] != "booked" || f[airtableemu.FieldICPScore] != 77.0 || f[airtableemu.FieldBooked] != true {
		t.Fatalf("typecast result %v", f)
	}

	// Delete.
	ids := make([]string, 0, 10)
	for _, r := range created.Records {
		ids = append(ids, r.ID)
	}
	_, err = tbl.DeleteRecords(append(slices.Clone(ids), tc.Records[0].ID))
	httpErr(t, err, 422, "INVALID_RECORDS", "deleted per request")
	del, err := tbl.DeleteRecords(ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Records) != 10 || !del.Records[0].Deleted || del.Records[0].ID != ids[0] {
		t.Fatalf("delete result %+v", del.Records[0])
	}
	left, _ := walk(t, tbl, nil)
	if len(left) != 1 || left[0].ID != tc.Records[0].ID {
		t.Fatalf("left %d records", len(left))
	}
	if _, err := left[0].DeleteRecord(); err != nil {
		t.Fatal(err)
	}
	st := e.emu.Stats().Bases[testBase]
	if st.RecordsCreated != 11 || st.RecordsUpdated != 12 || st.RecordsDeleted != 11 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAuthAndNotFound(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	e.itemsBase(t, 3)
	url := e.srv.URL + "/v0/" + testBase + "/Items"

	status, body := rawBody(t, "GET", url, "")
	if status != 401 || body != `{"error":{"type":"AUTHENTICATION_REQUIRED","message":"Authentication required"}}` {
		t.Fatalf("no key: %d %s", status, body)
	}
	_, err := newClient(t, e.srv.URL, "").GetTable(testBase, "Items").GetRecords().Do()
	httpErr(t, err, 401, "AUTHENTICATION_REQUIRED")

	status, body = rawBody(t, "GET", e.srv.URL+"/v0/appNopeNopeNope00/Items", "k")
	if status != 404 || body != `{"error":"NOT_FOUND"}` {
		t.Fatalf("unknown base: %d %s", status, body)
	}
	_, err = e.client.GetTable(testBase, "Nope").GetRecords().Do()
	httpErr(t, err, 404, "NOT_FOUND")

	// A configured key is the only one accepted.
	e.emu.SetAPIKey("secret")
	_, err = e.client.GetTable(testBase, "Items").GetRecords().Do()
	httpErr(t, err, 401, "AUTHENTICATION_REQUIRED")
	if _, err := newClient(t, e.srv.URL, "secret").GetTable(testBase, "Items").GetRecords().Do(); err != nil {
		t.Fatal(err)
	}

	// A base URL with a trailing slash makes the client send "//".
	c := airtable.NewClient("secret")
	c.SetRateLimit(1000)
	if err := c.SetBaseURL(e.srv.URL + "/v0/"); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetTable(testBase, "Items").GetRecords().Do()
	httpErr(t, err, 404)
}

func TestRateLimitAndPenalty(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, airtableemu.Options{RateLimit: 5, Penalty: 200 * time.Millisecond, Now: clock.Now})
	e.itemsBase(t, 3)
	tbl := e.client.GetTable(testBase, "Items")

	for i := range 5 {
		if _, err := tbl.GetRecords().Do(); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	_, err := tbl.GetRecords().Do()
	httpErr(t, err, 429, `{"errors":[{"error":"RATE_LIMIT_REACHED","message":"Rate limit exceeded. Please try again later"}]}`)

	// The penalty holds even after the bucket would have refilled.
	clock.Advance(150 * time.Millisecond)
	_, err = tbl.GetRecords().Do()
	httpErr(t, err, 429, "RATE_LIMIT_REACHED")
	status, _ := rawBody(t, "GET", e.srv.URL+"/v0/"+testBase+"/Items", "k")
	if status != 429 {
		t.Fatalf("raw request during penalty: %d", status)
	}

	// Other bases are not affected.
	if _, err := e.emu.CreateBase("appOtherBase00001", "", airtableemu.TableSpec{Name: "T"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetTable("appOtherBase00001", "T").GetRecords().Do(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(100 * time.Millisecond)
	for i := range 5 {
		if _, err := tbl.GetRecords().Do(); err != nil {
			t.Fatalf("after penalty, request %d: %v", i+1, err)
		}
	}
	st := e.emu.Stats()
	if st.RateLimited != 3 || st.Bases[testBase].RateLimited != 3 {
		t.Fatalf("429 count: %+v", st)
	}

	// Sustained 5 requests/s never trips the limit.
	for i := range 20 {
		clock.Advance(200 * time.Millisecond)
		if _, err := tbl.GetRecords().Do(); err != nil {
			t.Fatalf("paced request %d: %v", i, err)
		}
	}

	// Penalize and rate 0.
	if err := e.emu.Penalize(testBase, time.Second); err != nil {
		t.Fatal(err)
	}
	_, err = tbl.GetRecords().Do()
	httpErr(t, err, 429)
	clock.Advance(time.Second)
	e.emu.SetRateLimit(0)
	for range 50 {
		if _, err := tbl.GetRecords().Do(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRateLimitRealClock runs the limit on the wall clock, as the command does.
func TestRateLimitRealClock(t *testing.T) {
	e := newEnv(t, airtableemu.Options{RateLimit: 5, Penalty: 200 * time.Millisecond})
	e.itemsBase(t, 1)
	tbl := e.client.GetTable(testBase, "Items")
	var limited error
	for i := 0; i < 50 && limited == nil; i++ { // 6 suffice unless the machine is very slow
		_, limited = tbl.GetRecords().Do()
	}
	httpErr(t, limited, 429, "RATE_LIMIT_REACHED")
	_, err := tbl.GetRecords().Do()
	httpErr(t, err, 429)
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(50 * time.Millisecond)
		if _, err = tbl.GetRecords().Do(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still limited: %v", err)
		}
	}
}

func TestMetaEndpoints(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	airtableemu.SeedDemo(e.emu)
	bases, err := e.client.GetBases().WithOffset("").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(bases.Bases) != 2 || bases.Bases[0].ID != airtableemu.DemoBaseAcme {
		t.Fatalf("bases %+v", bases.Bases)
	}
	schema, err := e.client.GetBaseSchema(airtableemu.DemoBaseAcme).Do()
	if err != nil {
		t.Fatal(err)
	}
	// Leads, then Tasks (issue 12).
	if len(schema.Tables) != 2 || schema.Tables[1].Name != airtableemu.TasksTable || schema.Tables[0].Name != airtableemu.LeadsTable || len(schema.Tables[0].Fields) != 13 {
		t.Fatalf("schema %+v", schema.Tables)
	}
	// A table can be addressed by its ID too.
	recs, err := e.client.GetTable(airtableemu.DemoBaseAcme, schema.Tables[0].ID).GetRecords().PageSize(3).Do()
	if err != nil || len(recs.Records) != 3 {
		t.Fatalf("by table ID: %v", err)
	}

	// The client puts table names into the URL unescaped; spaces still work.
	if err := e.emu.CreateTable(airtableemu.DemoBaseAcme, airtableemu.TableSpec{Name: "My Leads"}); err != nil {
		t.Fatal(err)
	}
	spaced := e.client.GetTable(airtableemu.DemoBaseAcme, "My Leads")
	if _, err := spaced.AddRecords(&airtable.Records{Records: []*airtable.Record{{Fields: map[string]any{"Note": "it's \"quoted\""}}}}); err != nil {
		t.Fatal(err)
	}
	got, err := spaced.GetRecords().WithFilterFormula(`{Note} = 'it\'s "quoted"'`).Do()
	if err != nil || len(got.Records) != 1 {
		t.Fatalf("table with a space: %v %+v", err, got)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	e.itemsBase(t, 300)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := airtable.NewClient("k")
			c.SetRateLimit(1000)
			_ = c.SetBaseURL(e.srv.URL + "/v0")
			tbl := c.GetTable(testBase, "Items")
			for i := range 5 {
				if g%2 == 0 {
					_, err := tbl.AddRecords(&airtable.Records{Records: []*airtable.Record{{Fields: map[string]any{"Name": fmt.Sprint(g, i)}}}})
					if err != nil {
						errs <- err
						return
					}
					continue
				}
				offset := ""
				for {
					recs, err := tbl.GetRecords().WithOffset(offset).Do()
					if err != nil {
						errs <- err
						return
					}
					if offset = recs.Offset; offset == "" {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recs, _ := e.emu.Records(testBase, "Items")
	if len(recs) != 310 {
		t.Fatalf("%d records", len(recs))
	}
}

func TestWalkIsConsistentUnderWrites(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	ids := e.itemsBase(t, 250)
	tbl := e.client.GetTable(testBase, "Items")
	first, err := tbl.GetRecords().Do()
	if err != nil {
		t.Fatal(err)
	}
	// Delete records not listed yet, add new ones, update one.
	if n, err := e.emu.DeleteRecords(testBase, "Items", ids[150], ids[151], ids[249]); err != nil || n != 3 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if _, err := e.emu.SeedFields(testBase, "Items", []map[string]any{{"Name": "late"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{{ID: ids[200], Fields: map[string]any{"Name": "changed"}}}}); err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(first.Records)
	offset := first.Offset
	for offset != "" {
		page, err := tbl.GetRecords().WithOffset(offset).Do()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Records...)
		offset = page.Offset
	}
	if len(got) != 247 {
		t.Fatalf("walk returned %d records, want 247", len(got))
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.ID] {
			t.Fatalf("%s twice", r.ID)
		}
		seen[r.ID] = true
		if r.ID == ids[200] && r.Fields["Name"] != "changed" {
			t.Fatal("update not visible")
		}
	}
	if seen[ids[150]] || seen[ids[249]] {
		t.Fatal("deleted record listed")
	}
}

func TestSingleRecordRoutesAndUpsert(t *testing.T) {
	e := newEnv(t, airtableemu.Options{})
	ids := e.itemsBase(t, 3)
	base := e.srv.URL + "/v0/" + testBase + "/Items"

	var rec struct {
		ID     string         `json:"id"`
		Fields map[string]any `json:"fields"`
	}
	if s := do(t, "POST", base, "k", map[string]any{"fields": map[string]any{"Name": "solo"}}, &rec); s != 200 || rec.Fields["Name"] != "solo" {
		t.Fatalf("single create: %d %+v", s, rec)
	}
	if s := do(t, "PATCH", base+"/"+ids[0], "k", map[string]any{"fields": map[string]any{"Extra": "x"}}, &rec); s != 200 ||
		rec.Fields["Name"] != "item-0" || rec.Fields["Extra"] != "x" {
		t.Fatalf("single patch: %d %+v", s, rec)
	}
	if s := do(t, "DELETE", base+"/"+ids[1], "k", nil, nil); s != 200 {
		t.Fatalf("single delete: %d", s)
	}
	if s := do(t, "PATCH", base+"/"+ids[1], "k", map[string]any{"fields": map[string]any{}}, nil); s != 404 {
		t.Fatalf("patch deleted: %d", s)
	}

	var up struct {
		Records        []map[string]any `json:"records"`
		CreatedRecords []string         `json:"createdRecords"`
		UpdatedRecords []string         `json:"updatedRecords"`
	}
	s := do(t, "PATCH", base, "k", map[string]any{
		"performUpsert": map[string]any{"fieldsToMergeOn": []string{"Name"}},
		"records": []map[string]any{
			{"fields": map[string]any{"Name": "item-2", "N": 99}},
			{"fields": map[string]any{"Name": "brand-new", "N": 1}},
		},
	}, &up)
	if s != 200 || len(up.UpdatedRecords) != 1 || up.UpdatedRecords[0] != ids[2] || len(up.CreatedRecords) != 1 {
		t.Fatalf("upsert: %d %+v", s, up)
	}

	// listRecords by POST.
	var page struct {
		Records []map[string]any `json:"records"`
		Offset  string           `json:"offset"`
	}
	if s := do(t, "POST", base+"/listRecords", "k", map[string]any{"pageSize": 2, "fields": []string{"Name"}}, &page); s != 200 ||
		len(page.Records) != 2 || page.Offset == "" {
		t.Fatalf("listRecords: %d %+v", s, page)
	}
	if s := do(t, "POST", base+"/listRecords", "k", map[string]any{"offset": page.Offset}, &page); s != 200 || len(page.Records) != 2 {
		t.Fatalf("listRecords page 2: %d %+v", s, page)
	}
	if s := do(t, "POST", base, "k", "not an object", nil); s != 400 {
		t.Fatalf("bad body: %d", s)
	}
	if s := do(t, "POST", base, "k", map[string]any{}, nil); s != 422 {
		t.Fatalf("missing records: %d", s)
	}
	if s := do(t, "GET", e.srv.URL+"/v0/nothing", "k", nil, nil); s != http.StatusNotFound {
		t.Fatalf("unknown route: %d", s)
	}
}
