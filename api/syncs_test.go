package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/workflows"
)

type syncJSON struct {
	store.SyncRun
	Status *struct {
		Pages     int `json:"pages"`
		Restarted int `json:"listing_restarts"`
		Waited429 int `json:"waited_429"`
	} `json:"status"`
}

// syncTenant is a client whose Airtable base (in the emulator) holds n leads.
type syncTenant struct {
	tenant
	Base string
	IDs  []string
}

var baseSeq int

func newSyncTenant(t *testing.T, n, invalid int) syncTenant {
	t.Helper()
	return newSyncTenantWith(t, airtableemu.LeadsSpec(), n, invalid)
}

// newSyncTenantWith is newSyncTenant with the Leads table's schema.
func newSyncTenantWith(t *testing.T, spec airtableemu.TableSpec, n, invalid int) syncTenant {
	t.Helper()
	baseSeq++
	base := fmt.Sprintf("appTest%010d", baseSeq*7919+int(time.Now().UnixNano()%1000))
	if _, err := testEmu.CreateBase(base, "test", spec); err != nil {
		t.Fatal(err)
	}
	var fields []map[string]any
	for i := 0; i < n; i++ {
		fields = append(fields, map[string]any{
			airtableemu.FieldFirstName: fmt.Sprintf("Lead%d", i), airtableemu.FieldPhone: fmt.Sprintf("+1555%07d", i),
			airtableemu.FieldEmail: fmt.Sprintf("l%d@example.com", i), airtableemu.FieldTags: []any{"webinar", "VIP"},
			airtableemu.FieldICPScore: float64(i % 101), airtableemu.FieldEngagement: "high", airtableemu.FieldStatus: "new",
			airtableemu.FieldTimezone: "America/New_York",
		})
	}
	for i := 0; i < invalid; i++ {
		fields = append(fields, map[string]any{airtableemu.FieldFirstName: "NoPhone", airtableemu.FieldPhone: "555-1234"})
	}
	ids, err := testEmu.SeedFields(base, "Leads", fields)
	if err != nil {
		t.Fatal(err)
	}
	tn := newTenant(t, "sync")
	if _, err := testDB.Pool.Exec(context.Background(), `UPDATE clients SET airtable_base_id = $2 WHERE id = $1`, tn.ID, base); err != nil {
		t.Fatal(err)
	}
	return syncTenant{tenant: tn, Base: base, IDs: ids}
}

func (h *harness) startSync(tok string) syncJSON {
	h.t.Helper()
	r := h.do("POST", "/v1/syncs", tok, map[string]any{})
	if r.Status != 202 {
		h.t.Fatalf("start sync: %d %s", r.Status, r.Body)
	}
	var s syncJSON
	r.json(h.t, &s)
	return s
}

func (h *harness) waitSync(tok string, id uuid.UUID, phases ...string) syncJSON {
	h.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var s syncJSON
	for time.Now().Before(deadline) {
		h.do("GET", "/v1/syncs/"+id.String(), tok, nil).json(h.t, &s)
		for _, p := range phases {
			if s.Phase == p {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("sync %s stuck in %s (%s), want %v", id, s.Phase, s.Error, phases)
	return s
}

func liveLeads(t *testing.T, client uuid.UUID) int {
	var n int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM leads WHERE client_id = $1 AND deleted_at IS NULL`, client).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSyncImportsWithExactCounts(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 250, 3)
	s := h.startSync(st.Admin)
	got := h.waitSync(st.Admin, s.ID, "completed", "failed")
	if got.Phase != "completed" || got.Created != 250 || got.Invalid != 3 || got.Listed != 253 || got.Updated != 0 || got.Pages != 3 {
		t.Fatalf("first sync: %+v", got.SyncRun)
	}
	var page struct {
		Data []store.Lead `json:"data"`
	}
	h.do("GET", "/v1/leads?limit=500&tag=vip", st.Viewer, nil).json(t, &page)
	if len(page.Data) != 250 {
		t.Fatalf("%d leads visible", len(page.Data))
	}
	// Remove 10 records; the next sync stages exactly those, 240 unchanged.
	recs, _ := testEmu.Records(st.Base, "Leads")
	changed := 0
	for _, r := range recs {
		if changed == 10 {
			break
		}
		if _, ok := r.Fields[airtableemu.FieldEmail]; ok {
			if _, err := testEmu.DeleteRecords(st.Base, "Leads", r.ID); err != nil {
				t.Fatal(err)
			}
			changed++
		}
	}
	_ = changed
	s2 := h.startSync(st.Admin)
	got = h.waitSync(st.Admin, s2.ID, "awaiting_decision", "completed", "failed")
	if got.Phase != "awaiting_decision" || got.Staged != 10 || got.Created != 0 || got.Unchanged != 240 {
		t.Fatalf("second sync: %+v", got.SyncRun)
	}
	var reasons int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sync_invalid WHERE sync_id = $1 AND reason LIKE 'phone%'`, s.ID).Scan(&reasons); err != nil {
		t.Fatal(err)
	}
	if reasons != 3 {
		t.Fatalf("invalid reasons: %d", reasons)
	}
}

func TestSyncTruncatedListingStagesNothing(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 1000, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	if err := testEmu.TruncateListingsFraction(st.Base, 0.5, true); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	got := h.waitSync(st.Admin, s2.ID, "failed", "completed", "awaiting_decision")
	if got.Phase != "failed" || got.Staged != 0 {
		t.Fatalf("truncated sync: %+v", got.SyncRun)
	}
	if got.Error == "" {
		t.Fatal("failed sync says nothing")
	}
	t.Logf("failed with: %s", got.Error)
	if n := liveLeads(t, st.ID); n != 1000 {
		t.Fatalf("%d live leads after a truncated listing", n)
	}
	var deleted int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM leads WHERE client_id = $1 AND deleted_at IS NOT NULL`, st.ID).Scan(&deleted); err != nil {
		t.Fatal(err)
	}
	if deleted != 0 {
		t.Fatalf("%d leads staged", deleted)
	}
}

func TestSyncStagedDeletionsRejectThenApprove(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 1000, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	removed := st.IDs[:400]
	if _, err := testEmu.DeleteRecords(st.Base, "Leads", removed...); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	got := h.waitSync(st.Admin, s2.ID, "awaiting_decision", "failed", "completed")
	if got.Phase != "awaiting_decision" || got.Staged != 400 {
		t.Fatalf("staging: %+v", got.SyncRun)
	}
	if n := liveLeads(t, st.ID); n != 600 {
		t.Fatalf("%d live leads while staged", n)
	}
	var page struct {
		Data []store.Lead `json:"data"`
	}
	h.do("GET", "/v1/leads?limit=500", st.Viewer, nil).json(t, &page)
	for _, l := range page.Data {
		for _, id := range removed {
			if l.AirtableRecordID == id {
				t.Fatal("staged lead visible in GET /v1/leads")
			}
		}
	}
	var staged struct {
		Data []store.StagedLead `json:"data"`
	}
	h.do("GET", "/v1/syncs/"+s2.ID.String()+"/staged-deletions?limit=1000", st.Viewer, nil).json(t, &staged)
	if len(staged.Data) != 400 {
		t.Fatalf("staged list: %d", len(staged.Data))
	}
	var alerts int
	deadline := time.Now().Add(10 * time.Second)
	for alerts == 0 && time.Now().Before(deadline) {
		if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM activity_log WHERE action = 'alert.sync.mass_deletion_staged' AND client_id = $1`, st.ID).Scan(&alerts); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if alerts != 1 {
		t.Fatalf("mass deletion alerts: %d", alerts)
	}
	if r := h.do("POST", "/v1/syncs/"+s2.ID.String()+"/reject-deletions", st.Viewer, nil); r.Status != 403 {
		t.Fatalf("viewer reject: %d", r.Status)
	}
	if r := h.do("POST", "/v1/syncs/"+s2.ID.String()+"/reject-deletions", st.Admin, nil); r.Status != 200 {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	got = h.waitSync(st.Admin, s2.ID, "completed")
	if got.Restored != 400 || liveLeads(t, st.ID) != 1000 {
		t.Fatalf("reject restored %d, live %d", got.Restored, liveLeads(t, st.ID))
	}
	if r := h.do("POST", "/v1/syncs/"+s2.ID.String()+"/approve-deletions", st.Admin, nil); r.Status != 409 {
		t.Fatalf("approve after the decision: %d", r.Status)
	}

	s3 := h.startSync(st.Admin)
	h.waitSync(st.Admin, s3.ID, "awaiting_decision")
	if r := h.do("POST", "/v1/syncs/"+s3.ID.String()+"/approve-deletions", st.Admin, nil); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	got = h.waitSync(st.Admin, s3.ID, "completed")
	if got.Deleted != 400 || liveLeads(t, st.ID) != 600 {
		t.Fatalf("approve deleted %d, live %d", got.Deleted, liveLeads(t, st.ID))
	}
	var gone, audits int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM leads WHERE client_id = $1 AND airtable_record_id = ANY($2)`, st.ID, removed).Scan(&gone); err != nil {
		t.Fatal(err)
	}
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM activity_log WHERE action = 'lead.delete' AND client_id = $1
		AND details->>'airtable_record_id' = ANY($2)`, st.ID, removed).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if gone != 0 || audits != 400 {
		t.Fatalf("remaining %d of the removed, %d audit rows", gone, audits)
	}
	// Another client's sync is invisible.
	other := newTenant(t, "sync-other")
	if r := h.do("GET", "/v1/syncs/"+s3.ID.String(), other.Admin, nil); r.Status != 404 {
		t.Fatalf("other tenant: %d", r.Status)
	}
}

func TestSyncSurvivesFaultsWithExactCounts(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 1200, 0)
	if err := testEmu.FailListPage(st.Base, 3, 503, true); err != nil {
		t.Fatal(err)
	}
	if err := testEmu.SetLatency(st.Base, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	testEmu.SetRateLimit(5)
	defer testEmu.SetRateLimit(0)
	s := h.startSync(st.Admin)
	// Expire the iterator once the listing is under way.
	expired := false
	deadline := time.Now().Add(time.Minute)
	for !expired && time.Now().Before(deadline) {
		var cur syncJSON
		h.do("GET", "/v1/syncs/"+s.ID.String(), st.Admin, nil).json(t, &cur)
		if cur.Pages >= 4 {
			if n, _ := testEmu.ExpireOffsets(st.Base); n > 0 {
				expired = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := h.waitSync(st.Admin, s.ID, "completed", "failed")
	if got.Phase != "completed" || got.Created != 1200 || got.Listed != 1200 || got.Staged != 0 {
		t.Fatalf("faulty sync: %+v", got.SyncRun)
	}
	stats := testEmu.Stats()
	if stats.RateLimited == 0 && !expired {
		t.Fatalf("no fault happened: %+v expired=%v", stats, expired)
	}
	t.Logf("429s=%d expired=%v pages=%d", stats.RateLimited, expired, got.Pages)
}

func TestSyncOneAtATimePerClient(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 600, 0)
	if err := testEmu.SetLatency(st.Base, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s := h.startSync(st.Admin)
	r := h.do("POST", "/v1/syncs", st.Admin, map[string]any{})
	if r.Status != 409 {
		t.Fatalf("second start: %d %s", r.Status, r.Body)
	}
	e := r.errorOf(t)
	if e.Error.Code != "CONFLICT" || e.Error.Details["sync_id"] != s.ID.String() {
		t.Fatalf("409 body %s", r.Body)
	}
	h.waitSync(st.Admin, s.ID, "completed")
	nb := newTenant(t, "nobase")
	if r := h.do("POST", "/v1/syncs", nb.Admin, map[string]any{}); r.Status != 400 {
		t.Fatalf("client without base: %d", r.Status)
	}
}

func TestAirtableWebhookMAC(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 300, 0)
	var secret string
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT webhook_secret FROM clients WHERE id = $1`, st.ID).Scan(&secret); err != nil {
		t.Fatal(err)
	}
	body := `{"base":{"id":"` + st.Base + `"},"webhook":{"id":"ach1"},"timestamp":"2026-11-22T00:00:00.000Z"}`
	mac := func(key, b string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(b))
		return "hmac-sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	runs := func() (int, error) {
		var n int
		err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sync_runs WHERE client_id = $1`, st.ID).Scan(&n)
		return n, err
	}
	path := "/v1/webhooks/airtable/" + st.ID.String()
	for name, hdr := range map[string]string{
		"missing":     "",
		"wrong key":   mac("not-the-secret", body),
		"other body":  mac(secret, body+" "),
		"not hex":     "hmac-sha256=zz",
		"wrong shape": "sha1=" + strings.Repeat("0", 40),
	} {
		r := h.do("POST", path, "", body, "X-Airtable-Content-MAC", hdr)
		if r.Status != 401 || r.errorOf(t).Error.Code != "UNAUTHENTICATED" {
			t.Fatalf("%s MAC: %d %s", name, r.Status, r.Body)
		}
	}
	if r := h.do("POST", "/v1/webhooks/airtable/"+uuid.NewString(), "", body, "X-Airtable-Content-MAC", mac(secret, body)); r.Status != 401 {
		t.Fatalf("unknown client: %d", r.Status)
	}
	if n, err := runs(); err != nil || n != 0 {
		t.Fatalf("%d syncs started by forged webhooks (%v)", n, err)
	}
	if err := testEmu.SetLatency(st.Base, 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r := h.do("POST", path, "", body, "X-Airtable-Content-MAC", mac(secret, body))
	if r.Status != 202 {
		t.Fatalf("valid MAC: %d %s", r.Status, r.Body)
	}
	var first struct {
		SyncID  uuid.UUID `json:"sync_id"`
		Started bool      `json:"started"`
	}
	r.json(t, &first)
	// A second ping while it runs queues exactly one more run.
	r = h.do("POST", path, "", body, "X-Airtable-Content-MAC", mac(secret, body))
	var second struct {
		Rerun bool `json:"rerun_queued"`
	}
	r.json(t, &second)
	if r.Status != 202 || !first.Started || !second.Rerun {
		t.Fatalf("second ping: %d %s", r.Status, r.Body)
	}
	h.waitSync(st.Admin, first.SyncID, "completed")
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := runs()
		if err != nil {
			t.Fatal(err)
		}
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var again uuid.UUID
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT id FROM sync_runs WHERE client_id = $1 AND id <> $2`, st.ID, first.SyncID).Scan(&again); err != nil {
		t.Fatal(err)
	}
	got := h.waitSync(st.Admin, again, "completed")
	if got.Unchanged != 300 || got.Created != 0 {
		t.Fatalf("re-run: %+v", got.SyncRun)
	}
}

func TestEnrollmentWriteBackToAirtable(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 200, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	// Half the leads get a second tag, so two campaigns can split them.
	if _, err := testDB.Pool.Exec(context.Background(), `UPDATE leads SET tags = tags || ARRAY['half'] WHERE client_id = $1 AND icp_score < 50`, st.ID); err != nil {
		t.Fatal(err)
	}

	// Airtable fails every write: the campaign is still active, the records stay pending.
	if err := testEmu.FailNextRequests(st.Base, 1000, 503); err != nil {
		t.Fatal(err)
	}
	c1, r := h.createCampaign(st.Admin, map[string]any{"name": "first", "target_tags": []string{"half"}, "messages": step()})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := h.pollCampaign(st.Admin, c1.ID, func(c map[string]any) bool { return c["writeback_error"] != "" && c["writeback_error"] != nil })
	if got["status"] != "active" || got["writeback_pending"].(float64) == 0 || got["written_back"].(float64) != 0 {
		t.Fatalf("failed write-back: %v", got)
	}
	enrolled1 := int(got["enrolled_count"].(float64))
	if enrollmentsOf(t, c1.ID) != enrolled1 {
		t.Fatal("write-back failure changed the enrollments")
	}
	if err := testEmu.ClearFaults(st.Base); err != nil {
		t.Fatal(err)
	}

	// The next campaign's write-back also writes what the first left pending.
	c2, r := h.createCampaign(st.Admin, map[string]any{"name": "second", "target_tags": []string{"vip"}, "messages": step()})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	h.pollCampaign(st.Admin, c2.ID, func(c map[string]any) bool { return c["status"] == "active" && c["writeback_pending"] == float64(0) })
	h.pollCampaign(st.Admin, c1.ID, func(c map[string]any) bool {
		return c["writeback_pending"] == float64(0) && c["written_back"] == float64(enrolled1)
	})
	recs, err := testEmu.Records(st.Base, "Leads")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[any]int{}
	for _, rec := range recs {
		byName[rec.Fields[airtableemu.FieldCampaign]]++
		if st := rec.Fields[airtableemu.FieldSequenceStatus]; st != "enrolled" && st != "step 1 sent" {
			t.Fatalf("record %s sequence status %v", rec.ID, rec.Fields[airtableemu.FieldSequenceStatus])
		}
	}
	if byName["first"] != enrolled1 || byName["first"]+byName["second"] != 200 {
		t.Fatalf("written back: %v", byName)
	}
}

// A write-back that failed is retried by the client's next sync (no new
// campaign needed), which also clears the campaign's stale error.
func TestSyncRetriesPendingWriteBacks(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 60, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	if err := testEmu.FailNextRequests(st.Base, 1000, 503); err != nil {
		t.Fatal(err)
	}
	c, r := h.createCampaign(st.Admin, map[string]any{"name": "retry-by-sync", "target_tags": []string{"vip"}, "messages": step()})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := h.pollCampaign(st.Admin, c.ID, func(c map[string]any) bool { e, _ := c["writeback_error"].(string); return e != "" })
	if got["status"] != "active" || got["writeback_pending"] != float64(60) {
		t.Fatalf("failed write-back: %v", got)
	}
	if err := testEmu.ClearFaults(st.Base); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	run := h.waitSync(st.Admin, s2.ID, "completed", "failed")
	if run.Phase != "completed" || run.WrittenBack != 60 || run.WriteBackError != "" || run.Unchanged != 60 {
		t.Fatalf("second sync: %+v", run.SyncRun)
	}
	h.do("GET", "/v1/campaigns/"+c.ID.String(), st.Admin, nil).json(t, &got)
	if got["writeback_pending"] != float64(0) || got["written_back"] != float64(60) || got["writeback_error"] != "" {
		t.Fatalf("after the sync: %v", got)
	}
	recs, err := testEmu.Records(st.Base, "Leads")
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.Fields[airtableemu.FieldCampaign] != "retry-by-sync" {
			t.Fatalf("record %s not written back: %v", rec.ID, rec.Fields[airtableemu.FieldCampaign])
		}
	}
}

// A Temporal Schedule per client starts its syncs (and skips a tick while
// one runs).
func TestSyncSchedule(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 120, 0)
	ctx := context.Background()
	if err := syncstart.Schedule(ctx, testTemporal, "test", st.ID.String(), 30*time.Second, false); err == nil {
		t.Fatal("an interval under a minute was accepted")
	}
	if err := syncstart.Schedule(ctx, testTemporal, "test", st.ID.String(), time.Hour, true); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syncstart.Unschedule(ctx, testTemporal, st.ID.String()) }()
	var id uuid.UUID
	deadline := time.Now().Add(time.Minute)
	for id == uuid.Nil && time.Now().Before(deadline) {
		// No row yet (pgx.ErrNoRows) is what the loop waits out; anything else fails.
		if err := testDB.Pool.QueryRow(ctx, `SELECT id FROM sync_runs WHERE client_id = $1`, st.ID).Scan(&id); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if id == uuid.Nil {
		t.Fatal("the schedule started no sync")
	}
	if got := h.waitSync(st.Admin, id, "completed", "failed"); got.Phase != "completed" || got.Created != 120 {
		t.Fatalf("scheduled sync: %+v", got.SyncRun)
	}
	var audit string
	if err := testDB.Pool.QueryRow(ctx, `SELECT actor FROM activity_log WHERE action = 'sync.start' AND entity_id = $1`, id.String()).Scan(&audit); err != nil {
		t.Fatal(err)
	}
	if audit != "schedule" {
		t.Fatalf("audit actor %q", audit)
	}
}

// GET /v1/syncs lists a client's runs newest first; the list endpoints
// refuse bad filters with a 400 naming the field, and keep tenants apart.
func TestListSyncsAndFilters(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 30, 0)
	other := newTenant(t, "sync-list-other")
	first := h.startSync(st.Admin)
	h.waitSync(st.Admin, first.ID, "completed")
	second := h.startSync(st.Admin)
	h.waitSync(st.Admin, second.ID, "completed")
	var list struct {
		Data []store.SyncRun `json:"data"`
	}
	if r := h.do("GET", "/v1/syncs", st.Viewer, nil); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	} else {
		r.json(t, &list)
	}
	if len(list.Data) != 2 || list.Data[0].ID != second.ID || list.Data[1].ID != first.ID || list.Data[0].Unchanged != 30 {
		t.Fatalf("list: %+v", list.Data)
	}
	h.do("GET", "/v1/syncs?phase=awaiting_decision", st.Viewer, nil).json(t, &list)
	if len(list.Data) != 0 {
		t.Fatalf("phase filter: %+v", list.Data)
	}
	h.do("GET", "/v1/syncs", other.Admin, nil).json(t, &list)
	if len(list.Data) != 0 {
		t.Fatalf("another tenant sees %d syncs", len(list.Data))
	}
	if r := h.do("GET", "/v1/syncs?client_id="+st.ID.String(), other.Admin, nil); r.Status != 403 {
		t.Fatalf("foreign client_id: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct{ path, field string }{
		{"/v1/syncs?phase=done", "phase"},
		{"/v1/syncs?limit=0", "limit"},
		{"/v1/syncs?limit=x", "limit"},
		{"/v1/syncs?sort=asc", "sort"},
		{"/v1/syncs?client_id=nope", "client_id"},
		{"/v1/campaigns?status=done", "status"},
		{"/v1/campaigns?limit=501", "limit"},
	} {
		r := h.do("GET", c.path, st.Admin, nil)
		if r.Status != 400 || r.errorOf(t).Error.Details["field"] != c.field {
			t.Errorf("%s: %d %s", c.path, r.Status, r.Body)
		}
	}
}

// emuTable is the real Airtable client on a test base in the emulator.
func emuTable(t *testing.T, base string) *airtable.Table {
	t.Helper()
	c := airtable.NewClient("test")
	if err := c.SetBaseURL(testEmuURL + "/v0"); err != nil {
		t.Fatal(err)
	}
	c.SetRateLimit(1000)
	return c.GetTable(base, "Leads")
}

// A record that is still in Airtable but can no longer be imported is not
// "missing": its lead is neither staged nor deleted, and the listing is not
// taken for a truncated one.
func TestSyncInvalidRecordIsNotMissing(t *testing.T) {
	h := newHarness(t)
	st := newSyncTenant(t, 50, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	if _, err := emuTable(t, st.Base).UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{
		{ID: st.IDs[0], Fields: map[string]any{airtableemu.FieldPhone: "555-0000"}}}}); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	got := h.waitSync(st.Admin, s2.ID, "completed", "failed", "awaiting_decision")
	if got.Phase != "completed" || got.Staged != 0 || got.Invalid != 1 || got.Unchanged != 49 {
		t.Fatalf("one record turned invalid: %+v", got.SyncRun)
	}
	if _, err := testEmu.DeleteRecords(st.Base, "Leads", st.IDs[1:6]...); err != nil {
		t.Fatal(err)
	}
	s3 := h.startSync(st.Admin)
	got = h.waitSync(st.Admin, s3.ID, "completed", "failed", "awaiting_decision")
	if got.Phase != "awaiting_decision" || got.Staged != 5 || got.Invalid != 1 {
		t.Fatalf("5 removed, 1 invalid: %+v", got.SyncRun)
	}
	var deleted *time.Time
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT deleted_at FROM leads WHERE client_id = $1 AND airtable_record_id = $2`,
		st.ID, st.IDs[0]).Scan(&deleted); err != nil || deleted != nil {
		t.Fatalf("the invalid record's lead: deleted_at %v, %v", deleted, err)
	}
	if r := h.do("POST", "/v1/syncs/"+s3.ID.String()+"/reject-deletions", st.Admin, nil); r.Status != 200 {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	h.waitSync(st.Admin, s3.ID, "completed")
}

// A sync whose workflow ended without a decision (terminated) leaves its
// leads staged: deciding on it is refused with a clear 409, and the next
// sync takes them over, asks again and closes the old run. Staging twice
// stages nothing more; deleting keeps campaign counters equal to rows.
func TestSyncTakesOverOrphanedStagedLeads(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := newSyncTenant(t, 40, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	c, r := h.createCampaign(st.Admin, map[string]any{"name": "orphans", "target_tags": []string{"vip"}, "messages": step()})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	h.waitCampaign(st.Admin, c.ID, "active")
	if _, err := testEmu.DeleteRecords(st.Base, "Leads", st.IDs[:10]...); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	if got := h.waitSync(st.Admin, s2.ID, "awaiting_decision", "completed", "failed"); got.Staged != 10 {
		t.Fatalf("staged: %+v", got.SyncRun)
	}
	if n, err := testStore.StageMissing(ctx, s2.ID, st.ID); err != nil || n != 10 {
		t.Fatalf("staging again: %d, %v", n, err)
	}
	var audits int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE action = 'sync.stage_deletions' AND entity_id = $1`, s2.ID.String()).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 1 {
		t.Fatalf("%d staging audit rows", audits)
	}
	if err := testTemporal.TerminateWorkflow(ctx, workflows.ReviewWorkflowID(s2.ID.String()), "", "test: operator terminated it"); err != nil {
		t.Fatal(err)
	}
	r = h.do("POST", "/v1/syncs/"+s2.ID.String()+"/approve-deletions", st.Admin, nil)
	if r.Status != 409 || !strings.Contains(r.errorOf(t).Error.Message, "takes over") {
		t.Fatalf("approving an ended sync: %d %s", r.Status, r.Body)
	}
	s3 := h.startSync(st.Admin)
	if got := h.waitSync(st.Admin, s3.ID, "awaiting_decision", "completed", "failed"); got.Staged != 10 {
		t.Fatalf("take-over: %+v", got.SyncRun)
	}
	var old syncJSON
	h.do("GET", "/v1/syncs/"+s2.ID.String(), st.Admin, nil).json(t, &old)
	if old.Phase != "failed" || old.FinishedAt == nil {
		t.Fatalf("old run: %+v", old.SyncRun)
	}
	if r := h.do("POST", "/v1/syncs/"+s3.ID.String()+"/approve-deletions", st.Admin, nil); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if got := h.waitSync(st.Admin, s3.ID, "completed"); got.Deleted != 10 {
		t.Fatalf("deleted: %+v", got.SyncRun)
	}
	if n := liveLeads(t, st.ID); n != 30 {
		t.Fatalf("%d live leads", n)
	}
	var counter int
	if err := testDB.Pool.QueryRow(ctx, `SELECT enrolled_count FROM campaigns WHERE id = $1`, c.ID).Scan(&counter); err != nil {
		t.Fatal(err)
	}
	if rows := enrollmentsOf(t, c.ID); counter != 30 || rows != 30 {
		t.Fatalf("campaign counter %d, rows %d", counter, rows)
	}
}

// A write-back Airtable refuses for a reason other than a missing record
// (here the table has no Campaign field) keeps the records pending with
// the error shown; nothing is skipped for good.
func TestWriteBackConfigErrorKeepsRecordsPending(t *testing.T) {
	h := newHarness(t)
	spec := airtableemu.LeadsSpec()
	spec.Name = "Leads"
	var fields []airtableemu.FieldSpec
	for _, f := range spec.Fields {
		switch f.Name {
		case airtableemu.FieldCampaign:
			continue
		case airtableemu.FieldTags:
			f.Options = []string{"webinar", "VIP"}
		}
		fields = append(fields, f)
	}
	spec.Fields = fields
	st := newSyncTenantWith(t, spec, 20, 0)
	s := h.startSync(st.Admin)
	if got := h.waitSync(st.Admin, s.ID, "completed", "failed"); got.Phase != "completed" || got.Created != 20 {
		t.Fatalf("sync: %+v", got.SyncRun)
	}
	c, r := h.createCampaign(st.Admin, map[string]any{"name": "no-field", "target_tags": []string{"vip"}, "messages": step()})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := h.pollCampaign(st.Admin, c.ID, func(c map[string]any) bool { e, _ := c["writeback_error"].(string); return e != "" })
	if e, _ := got["writeback_error"].(string); !strings.Contains(e, "UNKNOWN_FIELD_NAME") ||
		got["writeback_pending"] != float64(20) || got["writeback_skipped"] != float64(0) {
		t.Fatalf("config error: %v", got)
	}
}

// A record that comes back to Airtable while its lead awaits the decision
// keeps its lead when the deletion is approved (the batch looks its records
// up again first); only the records still gone are deleted.
func TestSyncApproveSparesLeadsBackInAirtable(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := newSyncTenant(t, 30, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	gone, err := testEmu.Records(st.Base, "Leads")
	if err != nil {
		t.Fatal(err)
	}
	gone = gone[:10]
	if _, err := testEmu.DeleteRecords(st.Base, "Leads", st.IDs[:10]...); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	if got := h.waitSync(st.Admin, s2.ID, "awaiting_decision", "completed", "failed"); got.Staged != 10 {
		t.Fatalf("staged: %+v", got.SyncRun)
	}
	// Three records are restored in Airtable (same ids) before the admin approves.
	if _, err := testEmu.SeedRecords(st.Base, "Leads", gone[:3]); err != nil {
		t.Fatal(err)
	}
	if r := h.do("POST", "/v1/syncs/"+s2.ID.String()+"/approve-deletions", st.Admin, nil); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	got := h.waitSync(st.Admin, s2.ID, "completed")
	if got.Deleted != 7 || got.Restored != 3 {
		t.Fatalf("approval: %+v", got.SyncRun)
	}
	var live, restores int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE client_id = $1 AND deleted_at IS NULL AND airtable_record_id = ANY($2)`,
		st.ID, st.IDs[:3]).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE action = 'lead.restore' AND details->>'sync_id' = $1`, s2.ID.String()).Scan(&restores); err != nil {
		t.Fatal(err)
	}
	if live != 3 || restores != 3 || liveLeads(t, st.ID) != 23 {
		t.Fatalf("kept %d of the 3 back in Airtable, %d restore audit rows, %d live", live, restores, liveLeads(t, st.ID))
	}
}

// pollCampaign polls GET /v1/campaigns/{id} (as JSON) until want holds.
func (h *harness) pollCampaign(tok string, id uuid.UUID, want func(c map[string]any) bool) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var c map[string]any
	for time.Now().Before(deadline) {
		h.do("GET", "/v1/campaigns/"+id.String(), tok, nil).json(h.t, &c)
		if want(c) {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("campaign %s never got there: %v", id, c)
	return nil
}
