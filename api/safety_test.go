package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

// Cancelling right after creating, as a new user would: every answer is
// the truth. 200 means the campaign ends cancelled with no lead held; 409
// means the workflow had already settled it, and says how. Only what was
// carried out is audited.
func TestCancelRightAfterCreateTellsTheTruth(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "cancel-race")
	ctx := context.Background()
	// Audiences from none to thousands, so some cancels land while the
	// campaign is still starting, some during the last enrollment chunk and
	// some after it settled.
	sizes := []int{0, 1, 5, 20, 100, 500, 2000, 3000}
	campaigns := len(sizes)
	for i, n := range sizes {
		if _, err := testDB.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, phone, tags)
			SELECT $1::uuid, 'rec' || md5($2 || g::text), '+1555' || lpad(g::text, 7, '0'), ARRAY[$2]
			FROM generate_series(1, $3) g`, tn.ID, fmt.Sprintf("race-%d", i), n); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, refused := 0, 0
	for k := range 2 * campaigns {
		i, round, delay := k%campaigns, k/campaigns, time.Duration(0)
		if round == 1 { // a second round, each a little later after its create
			delay = time.Duration(i) * 40 * time.Millisecond
		}
		c, r := h.createCampaign(tn.Admin, map[string]any{"name": fmt.Sprintf("race %d round %d", i, round), "target_tags": []string{fmt.Sprintf("race-%d", i)}, "messages": step()})
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		time.Sleep(delay)
		r = h.do("POST", "/v1/campaigns/"+c.ID.String()+"/cancel", tn.Admin, nil)
		final := h.waitCampaign(tn.Admin, c.ID, "cancelled", "active", "no_eligible_leads")
		var active, audits int
		if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM campaign_enrollments WHERE campaign_id = $1 AND status = 'active'`, c.ID).Scan(&active); err != nil {
			t.Fatal(err)
		}
		if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE entity_id = $1 AND action = 'campaign.cancel'`, c.ID.String()).Scan(&audits); err != nil {
			t.Fatal(err)
		}
		switch r.Status {
		case 200:
			cancelled++
			h.waitCampaign(tn.Admin, c.ID, "cancelled") // the other round's campaign frees its leads first
			if final.Status != "cancelled" || active != 0 || audits != 1 {
				t.Fatalf("cancel answered 200, campaign %s with %d active enrollments, %d audit rows", final.Status, active, audits)
			}
		case 409:
			refused++
			if final.Status == "cancelled" || audits != 0 || !strings.Contains(r.errorOf(t).Error.Message, final.Status) {
				t.Fatalf("cancel answered 409 (%s), campaign %s, %d audit rows", r.Body, final.Status, audits)
			}
		default:
			it := testTemporal.GetWorkflowHistory(ctx, c.WorkflowID, "", false, 0)
			for it.HasNext() {
				ev, _ := it.Next()
				if f := ev.GetWorkflowTaskFailedEventAttributes(); f != nil {
					t.Logf("WFT failed: %s %s", f.GetCause(), f.GetFailure().GetMessage())
				}
			}
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
	}
	t.Logf("%d cancelled, %d refused as already settled", cancelled, refused)
	if cancelled == 0 {
		t.Fatal("no cancel right after create was carried out")
	}
}

// Approve and reject at the same moment: one 200, one 409, one audit row,
// and the staged leads end as the winner decided.
func TestRacingDecisionsGetOneVerdictEach(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := newSyncTenant(t, 60, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	if _, err := testEmu.DeleteRecords(st.Base, "Leads", st.IDs[:6]...); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	h.waitSync(st.Admin, s2.ID, "awaiting_decision")
	var wg sync.WaitGroup
	codes := map[string]int{}
	var mu sync.Mutex
	for _, d := range []string{"approve-deletions", "reject-deletions"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do("POST", "/v1/syncs/"+s2.ID.String()+"/"+d, st.Admin, nil)
			mu.Lock()
			codes[d] = r.Status
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["approve-deletions"]+codes["reject-deletions"] != 200+409 {
		t.Fatalf("racing decisions answered %v", codes)
	}
	got := h.waitSync(st.Admin, s2.ID, "completed")
	var audits int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE entity_id = $1 AND action IN ('sync.approve_deletions', 'sync.reject_deletions')`,
		s2.ID.String()).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 1 {
		t.Fatalf("%d decision audit rows", audits)
	}
	live := liveLeads(t, st.ID)
	if codes["approve-deletions"] == 200 && (got.Deleted != 6 || live != 54 || got.Decision != "approved") {
		t.Fatalf("approve won: deleted %d, live %d, %+v", got.Deleted, live, got.SyncRun)
	}
	if codes["reject-deletions"] == 200 && (got.Restored != 6 || live != 60 || got.Decision != "rejected") {
		t.Fatalf("reject won: restored %d, live %d, %+v", got.Restored, live, got.SyncRun)
	}
	if got.DecidedBy == "" {
		t.Fatalf("the run does not say who decided: %+v", got.SyncRun)
	}
}

// A renamed "SMS Stop" column fails the sync, naming the field, and clears
// no opt-out; an opt-out recorded in Nurture survives a sync whose Airtable
// row says false.
func TestOptOutsSurviveSyncs(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := newSyncTenant(t, 20, 0)
	tbl := emuTable(t, st.Base)
	if _, err := tbl.UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{
		{ID: st.IDs[0], Fields: map[string]any{airtableemu.FieldSMSStop: true}}}}); err != nil {
		t.Fatal(err)
	}
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	stopped := func() int {
		var n int
		if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE client_id = $1 AND sms_stop`, st.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := stopped(); n != 1 {
		t.Fatalf("%d stopped after the first sync", n)
	}
	// An opt-out recorded by Nurture (a STOP by SMS) for another lead.
	var phone string
	if err := testDB.Pool.QueryRow(ctx, `SELECT phone FROM leads WHERE client_id = $1 AND airtable_record_id = $2`, st.ID, st.IDs[1]).Scan(&phone); err != nil {
		t.Fatal(err)
	}
	if n, _, err := testStore.OptOut(ctx, st.ID, phone, "sms:STOP"); err != nil || n != 1 {
		t.Fatalf("opt-out: %d %v", n, err)
	}
	// Airtable says false for both (the first one unticked, the second never ticked).
	if _, err := tbl.UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{
		{ID: st.IDs[0], Fields: map[string]any{airtableemu.FieldSMSStop: false}}}}); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	if got := h.waitSync(st.Admin, s2.ID, "completed", "failed"); got.Phase != "completed" {
		t.Fatalf("sync: %+v", got.SyncRun)
	}
	if n := stopped(); n != 2 {
		t.Fatalf("%d stopped after a sync that says false, want 2", n)
	}
	// The column is renamed: the sync fails naming it, and changes nothing.
	if err := testEmu.RenameField(st.Base, "Leads", airtableemu.FieldSMSStop, "Opted Out"); err != nil {
		t.Fatal(err)
	}
	s3 := h.startSync(st.Admin)
	got := h.waitSync(st.Admin, s3.ID, "completed", "failed")
	if got.Phase != "failed" || !strings.Contains(got.Error, `"SMS Stop"`) || !strings.Contains(got.Error, "sms_stop") {
		t.Fatalf("sync with a renamed opt-out column: %+v", got.SyncRun)
	}
	if n := stopped(); n != 2 {
		t.Fatalf("%d stopped after the failed sync", n)
	}
	// A lead re-created in Airtable with an opted-out phone is stopped too.
	if err := testEmu.RenameField(st.Base, "Leads", "Opted Out", airtableemu.FieldSMSStop); err != nil {
		t.Fatal(err)
	}
	if _, err := testEmu.SeedFields(st.Base, "Leads", []map[string]any{{airtableemu.FieldFirstName: "Again", airtableemu.FieldPhone: phone}}); err != nil {
		t.Fatal(err)
	}
	s4 := h.startSync(st.Admin)
	h.waitSync(st.Admin, s4.ID, "completed")
	if n := stopped(); n != 3 {
		t.Fatalf("%d stopped, want the re-created lead stopped too", n)
	}
}

// A lead that turns sms_stop or booked in Airtable leaves its active
// enrollment at once (stopped, converted) and is free for other campaigns
// only when it may be messaged.
func TestSyncedStopAndBookingEndEnrollments(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := newSyncTenant(t, 10, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	c, r := h.createCampaign(st.Admin, map[string]any{"name": "ends", "target_tags": []string{"vip"}, "messages": step()})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	h.waitCampaign(st.Admin, c.ID, "active")
	if _, err := emuTable(t, st.Base).UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{
		{ID: st.IDs[0], Fields: map[string]any{airtableemu.FieldSMSStop: true}},
		{ID: st.IDs[1], Fields: map[string]any{airtableemu.FieldBooked: true}}}}); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	h.waitSync(st.Admin, s2.ID, "completed")
	status := func(rec string) string {
		var s string
		if err := testDB.Pool.QueryRow(ctx, `SELECT e.status FROM campaign_enrollments e JOIN leads l ON l.id = e.lead_id
			WHERE e.campaign_id = $1 AND l.airtable_record_id = $2`, c.ID, rec).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if a, b, other := status(st.IDs[0]), status(st.IDs[1]), status(st.IDs[2]); a != "stopped" || b != "converted" || other != "active" {
		t.Fatalf("enrollments: stop %s, booked %s, untouched %s", a, b, other)
	}
}

// While a decision on staged deletions is pending, the client's syncs keep
// importing: new records arrive, the staged set stays frozen for the
// admin, and a staged lead whose record is back in Airtable is restored
// with an audit row.
func TestImportsContinueWhileADecisionIsPending(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := newSyncTenant(t, 30, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	back, err := testEmu.GetRecord(st.Base, "Leads", st.IDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testEmu.DeleteRecords(st.Base, "Leads", st.IDs[:5]...); err != nil {
		t.Fatal(err)
	}
	s2 := h.startSync(st.Admin)
	if got := h.waitSync(st.Admin, s2.ID, "awaiting_decision"); got.Staged != 5 {
		t.Fatalf("staged: %+v", got.SyncRun)
	}
	// Airtable changes meanwhile: 3 new records, one of the removed ones back.
	if _, err := testEmu.SeedFields(st.Base, "Leads", []map[string]any{
		{airtableemu.FieldFirstName: "New1", airtableemu.FieldPhone: "+15559990001"},
		{airtableemu.FieldFirstName: "New2", airtableemu.FieldPhone: "+15559990002"},
		{airtableemu.FieldFirstName: "New3", airtableemu.FieldPhone: "+15559990003"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := testEmu.SeedRecords(st.Base, "Leads", []airtableemu.Record{back}); err != nil {
		t.Fatal(err)
	}
	s3 := h.startSync(st.Admin) // not refused: the pending decision holds no sync
	got := h.waitSync(st.Admin, s3.ID, "completed", "failed", "awaiting_decision")
	if got.Phase != "completed" || got.Created != 3 || got.Staged != 0 {
		t.Fatalf("sync during the review: %+v", got.SyncRun)
	}
	if n := liveLeads(t, st.ID); n != 29 {
		t.Fatalf("%d live leads, want 25 + 3 new + 1 back", n)
	}
	var restoreAudits int
	if err := testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE action = 'lead.restore' AND client_id = $1
		AND details->>'airtable_record_id' = $2`, st.ID, st.IDs[0]).Scan(&restoreAudits); err != nil {
		t.Fatal(err)
	}
	if restoreAudits != 1 {
		t.Fatalf("%d lead.restore audit rows", restoreAudits)
	}
	// The review still decides its own (frozen) set: 4 left to delete.
	if r := h.do("POST", "/v1/syncs/"+s2.ID.String()+"/approve-deletions", st.Admin, nil); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if got := h.waitSync(st.Admin, s2.ID, "completed"); got.Deleted != 4 {
		t.Fatalf("approved review: %+v", got.SyncRun)
	}
	if n := liveLeads(t, st.ID); n != 29 {
		t.Fatalf("%d live leads after the approval", n)
	}
	var id uuid.UUID
	if err := testDB.Pool.QueryRow(ctx, `SELECT id FROM leads WHERE client_id = $1 AND airtable_record_id = $2 AND deleted_at IS NULL`, st.ID, st.IDs[0]).Scan(&id); err != nil {
		t.Fatalf("the lead back in Airtable: %v", err)
	}
}
