package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
)

// incrTenant is a synced client with a registered webhook.
type incrTenant struct {
	syncTenant
	Hook store.AirtableWebhook
}

func newIncrTenant(t *testing.T, h *harness, n int) incrTenant {
	t.Helper()
	st := newSyncTenant(t, n, 0)
	s := h.startSync(st.Admin)
	h.waitSync(st.Admin, s.ID, "completed")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := syncstart.RegisterWebhook(ctx, testTemporal, "test", st.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.WebhookID == "" || res.SyncID == "" {
		t.Fatalf("register: %+v", res)
	}
	// A new webhook starts a full listing covering the time without one.
	h.waitSync(st.Admin, uuid.MustParse(res.SyncID), "completed")
	hook, err := testStore.GetAirtableWebhook(ctx, st.ID)
	if err != nil || hook.WebhookID != res.WebhookID {
		t.Fatalf("stored webhook %+v: %v", hook, err)
	}
	t.Cleanup(func() {
		_ = testTemporal.ScheduleClient().GetHandle(context.Background(), "airtable-webhook-refresh/"+st.ID.String()).Delete(context.Background())
	})
	return incrTenant{syncTenant: st, Hook: hook}
}

func firstNames(t *testing.T, client uuid.UUID, ids []string) map[string]string {
	t.Helper()
	rows, err := testDB.Pool.Query(context.Background(), `SELECT airtable_record_id, first_name FROM leads WHERE client_id = $1 AND airtable_record_id = ANY($2)`, client, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		out[id] = name
	}
	return out
}

// waitNames waits (generously) until every record's lead has the name.
func waitNames(t *testing.T, client uuid.UUID, want map[string]string) {
	t.Helper()
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := firstNames(t, client, ids)
		ok := true
		for id, n := range want {
			if got[id] != n {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leads %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func rename(t *testing.T, base string, names map[string]string) {
	t.Helper()
	var recs []airtableemu.Record
	for id, n := range names {
		recs = append(recs, airtableemu.Record{ID: id, Fields: map[string]any{airtableemu.FieldFirstName: n}})
	}
	if err := testEmu.UpdateRecords(base, "Leads", recs); err != nil {
		t.Fatal(err)
	}
}

func runsSince(t *testing.T, client uuid.UUID, since time.Time) []store.SyncRun {
	t.Helper()
	runs, err := testStore.ListSyncRuns(context.Background(), &client, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.SyncRun
	for _, r := range runs {
		if !r.StartedAt.Before(since) {
			out = append(out, r)
		}
	}
	return out
}

// waitRunsSettled waits until no run of the client is unfinished (or awaiting a decision).
func waitRunsSettled(t *testing.T, client uuid.UUID) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sync_runs WHERE client_id = $1 AND finished_at IS NULL AND phase NOT IN ('awaiting_decision')`, client).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs still unfinished", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func baseStats(base string) airtableemu.BaseStats { return testEmu.Stats().Bases[base] }

func TestIncrementalSyncAppliesChangedRecords(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 300)
	before := baseStats(it.Base)
	since := time.Now()
	want := map[string]string{it.IDs[5]: "Changed5", it.IDs[100]: "Changed100", it.IDs[299]: "Changed299"}
	rename(t, it.Base, want)
	waitNames(t, it.ID, want)
	waitRunsSettled(t, it.ID)
	after := baseStats(it.Base)
	if after.ListRequests != before.ListRequests {
		t.Fatalf("a listing ran: %d list requests", after.ListRequests-before.ListRequests)
	}
	if r := after.Requests - before.Requests; r > 5 || r < 1 {
		t.Fatalf("%d Airtable requests for 3 changes", r)
	}
	runs := runsSince(t, it.ID, since)
	if len(runs) == 0 {
		t.Fatal("no sync run")
	}
	var updated int
	for _, r := range runs {
		if r.Mode != "incremental" || r.Phase != "completed" || r.FallbackReason != "" || r.Pages != 0 {
			t.Fatalf("run %+v", r)
		}
		updated += r.Updated
	}
	if updated != 3 {
		t.Fatalf("runs updated %d leads, want 3", updated)
	}
	// The nightly listing finds nothing the incremental path missed.
	s := h.startSync(it.Admin)
	got := h.waitSync(it.Admin, s.ID, "completed", "failed")
	if got.Phase != "completed" || got.MissedChanges == nil || *got.MissedChanges != 0 || got.Mode != "full" {
		t.Fatalf("full listing: %+v", got.SyncRun)
	}
}

// selects reads a lead's status, engagement and tags.
func selects(t *testing.T, client uuid.UUID, id string) string {
	t.Helper()
	var status, eng string
	var tags []string
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT status, engagement_level, tags FROM leads WHERE client_id = $1 AND airtable_record_id = $2`, client, id).Scan(&status, &eng, &tags); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s/%s/%v", status, eng, tags)
}

// Webhook payloads carry select cells as choice objects ({id, name, color},
// an array of them for multipleSelects), not the listing's names: an
// incremental apply must read them, both changed and unchanged.
func TestIncrementalSyncSelectFields(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 20)
	changed, renamed := it.IDs[7], it.IDs[8]
	was := selects(t, it.ID, renamed)
	if was != "new/high/[webinar vip]" {
		t.Fatalf("after the listing: %s", was)
	}
	if err := testEmu.UpdateRecords(it.Base, "Leads", []airtableemu.Record{
		{ID: changed, Fields: map[string]any{airtableemu.FieldStatus: "contacted", airtableemu.FieldEngagement: "low", airtableemu.FieldTags: []any{"trial", "smb"}, airtableemu.FieldFirstName: "Sel7"}},
		{ID: renamed, Fields: map[string]any{airtableemu.FieldFirstName: "Sel8"}},
	}); err != nil {
		t.Fatal(err)
	}
	waitNames(t, it.ID, map[string]string{changed: "Sel7", renamed: "Sel8"})
	waitRunsSettled(t, it.ID)
	if got := selects(t, it.ID, changed); got != "contacted/low/[trial smb]" {
		t.Fatalf("changed selects: %s", got)
	}
	if got := selects(t, it.ID, renamed); got != was {
		t.Fatalf("unchanged selects after a rename: %s, want %s", got, was)
	}
	// The payload really carried choice objects (the emulator's webhook shape).
	hook := it.Hook
	p, err := testEmu.Payloads(it.Base, hook.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, pl := range p {
		for _, c := range pl.ChangedTablesByID {
			if r, ok := c.ChangedRecordsByID[changed]; ok {
				for _, v := range r.Current.CellValuesByFieldID {
					if arr, ok := v.([]any); ok {
						for _, x := range arr {
							if m, ok := x.(map[string]any); ok && m["name"] == "trial" && m["id"] != nil && m["color"] != nil {
								found = true
							}
						}
					}
				}
				if !found {
					t.Logf("changed record %s in the payload: %+v", changed, r)
				}
			}
		}
	}
	if !found {
		t.Fatalf("no tags as choice objects in the payloads %+v", p)
	}
}

func TestIncrementalSyncStagesDestroyedRecords(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 200)
	since := time.Now()
	gone := it.IDs[10:20]
	if _, err := testEmu.DeleteRecords(it.Base, "Leads", gone...); err != nil {
		t.Fatal(err)
	}
	var run store.SyncRun
	deadline := time.Now().Add(30 * time.Second)
	for run.Phase != "awaiting_decision" {
		if time.Now().After(deadline) {
			t.Fatalf("no incremental run awaits a decision: %+v", runsSince(t, it.ID, since))
		}
		time.Sleep(50 * time.Millisecond)
		for _, r := range runsSince(t, it.ID, since) {
			if r.Staged > 0 {
				run = r
			}
		}
	}
	if run.Mode != "incremental" || run.Staged != 10 || run.Pages != 0 {
		t.Fatalf("run %+v", run.Mode)
	}
	if n := liveLeads(t, it.ID); n != 190 {
		t.Fatalf("%d live leads", n)
	}
	var all int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM leads WHERE client_id = $1`, it.ID).Scan(&all); err != nil || all != 200 {
		t.Fatalf("%d lead rows (%v): staged leads must not be deleted", all, err)
	}
	var staged struct {
		Data []store.StagedLead `json:"data"`
	}
	h.do("GET", "/v1/syncs/"+run.ID.String()+"/staged-deletions?limit=100", it.Viewer, nil).json(t, &staged)
	if len(staged.Data) != 10 {
		t.Fatalf("staged list: %d", len(staged.Data))
	}
	if r := h.do("POST", "/v1/syncs/"+run.ID.String()+"/reject-deletions", it.Admin, nil); r.Status != 200 {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	got := h.waitSync(it.Admin, run.ID, "completed")
	if got.Restored != 10 || liveLeads(t, it.ID) != 200 {
		t.Fatalf("after reject: %+v, %d live", got.SyncRun, liveLeads(t, it.ID))
	}
}

// An attempt that committed a page staging destroyed records and then failed
// leaves nothing staged for the next attempt to see: the run's staged leads
// (by sync id) still go to a review.
func TestIncrementalSyncReviewsLeadsStagedByAFailedAttempt(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 100)
	since := time.Now()
	if err := testEmu.DropNotifications(it.Base, it.Hook.WebhookID, 1000); err != nil {
		t.Fatal(err)
	}
	// Payload 1 destroys 10 records; 49 renames fill the first page of 50.
	if _, err := testEmu.DeleteRecords(it.Base, "Leads", it.IDs[10:20]...); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		rename(t, it.Base, map[string]string{it.IDs[30+i%40]: fmt.Sprintf("Attempt%d", i)})
	}
	// Attempt 1 reads page 1, commits it (staging the 10), then its read of
	// page 2 fails; attempt 2 applies page 2 only.
	if err := testEmu.FailPayloadsRead(it.Base, it.Hook.WebhookID, 2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(runsSince(t, it.ID, since)); n != 0 {
		t.Fatalf("%d runs started by dropped notifications", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := syncstart.RequestIncremental(ctx, testStore, testTemporal, "test", it.ID, "test", uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	waitRunsSettled(t, it.ID)
	runs := runsSince(t, it.ID, since)
	if len(runs) != 1 {
		t.Fatalf("runs %+v", runs)
	}
	run := runs[0]
	if run.Mode != "incremental" || run.Phase != "awaiting_decision" || run.Staged != 10 || run.FallbackReason != "" {
		t.Fatalf("run mode=%s phase=%s staged=%d fallback=%q error=%q", run.Mode, run.Phase, run.Staged, run.FallbackReason, run.Error)
	}
	if n := liveLeads(t, it.ID); n != 90 {
		t.Fatalf("%d live leads", n)
	}
	waitNames(t, it.ID, map[string]string{it.IDs[30+49%40]: "Attempt49"})
	if r := h.do("POST", "/v1/syncs/"+run.ID.String()+"/reject-deletions", it.Admin, nil); r.Status != 200 {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	if got := h.waitSync(it.Admin, run.ID, "completed"); got.Restored != 10 || liveLeads(t, it.ID) != 100 {
		t.Fatalf("after reject: %+v, %d live", got.SyncRun, liveLeads(t, it.ID))
	}
}

func TestIncrementalSyncCatchesUpAfterADroppedNotification(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 100)
	if err := testEmu.DropNotifications(it.Base, it.Hook.WebhookID, 1); err != nil {
		t.Fatal(err)
	}
	first := map[string]string{it.IDs[1]: "Dropped1", it.IDs[2]: "Dropped2"}
	rename(t, it.Base, first)
	time.Sleep(500 * time.Millisecond)
	if got := firstNames(t, it.ID, []string{it.IDs[1]}); got[it.IDs[1]] == "Dropped1" {
		t.Fatal("a dropped notification was applied: the check below proves nothing")
	}
	second := map[string]string{it.IDs[3]: "Next3"}
	rename(t, it.Base, second)
	for k, v := range second {
		first[k] = v
	}
	waitNames(t, it.ID, first)

	// Dropped again with no notification after them: the nightly listing
	// finds the changes and reports them as missed by the incremental path.
	waitRunsSettled(t, it.ID)
	if err := testEmu.DropNotifications(it.Base, it.Hook.WebhookID, 2); err != nil {
		t.Fatal(err)
	}
	missed := map[string]string{it.IDs[7]: "Missed7", it.IDs[8]: "Missed8"}
	rename(t, it.Base, missed)
	if _, err := testEmu.SeedFields(it.Base, "Leads", []map[string]any{{airtableemu.FieldFirstName: "Unannounced", airtableemu.FieldPhone: "+15559990001",
		airtableemu.FieldTimezone: "America/New_York"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	s := h.startSync(it.Admin)
	got := h.waitSync(it.Admin, s.ID, "completed", "failed")
	if got.Phase != "completed" || got.MissedChanges == nil || *got.MissedChanges != 3 {
		t.Fatalf("nightly listing after dropped notifications: %+v", got.SyncRun)
	}
	waitNames(t, it.ID, missed)
}

func TestAirtableNotificationMAC(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 20)
	waitRunsSettled(t, it.ID)
	body := []byte(fmt.Sprintf(`{"base":{"id":%q},"webhook":{"id":%q},"timestamp":"2026-01-01T00:00:00.000Z"}`, it.Base, it.Hook.WebhookID))
	path := "/v1/webhooks/airtable/" + it.ID.String() + "/notifications"
	var runs int
	count := func() int {
		var n int
		if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sync_runs WHERE client_id = $1`, it.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	runs = count()
	forged := hmac.New(sha256.New, []byte("not the secret"))
	forged.Write(body)
	for _, mac := range []string{"", "hmac-sha256=" + hex.EncodeToString(forged.Sum(nil)), "hmac-sha256=zz"} {
		r := h.do("POST", path, "", body, "X-Airtable-Content-MAC", mac)
		if r.Status != 401 || r.errorOf(t).Error.Code != "UNAUTHENTICATED" {
			t.Fatalf("MAC %q: %d %s", mac, r.Status, r.Body)
		}
	}
	// The secret of the client's old ping webhook is not this webhook's.
	cl, _ := testStore.GetClient(context.Background(), it.ID)
	old := hmac.New(sha256.New, []byte(cl.WebhookSecret))
	old.Write(body)
	if r := h.do("POST", path, "", body, "X-Airtable-Content-MAC", "hmac-sha256="+hex.EncodeToString(old.Sum(nil))); r.Status != 401 {
		t.Fatalf("ping secret: %d", r.Status)
	}
	if n := count(); n != runs {
		t.Fatalf("a refused notification started %d syncs", n-runs)
	}
	// A valid duplicate notification (nothing new) changes nothing.
	key, _ := base64.StdEncoding.DecodeString(it.Hook.MACSecret)
	good := hmac.New(sha256.New, key)
	good.Write(body)
	r := h.do("POST", path, "", body, "X-Airtable-Content-MAC", "hmac-sha256="+hex.EncodeToString(good.Sum(nil)))
	if r.Status != 204 || len(r.Body) != 0 {
		t.Fatalf("valid notification: %d %q (Airtable expects 204 with an empty body)", r.Status, r.Body)
	}
	waitRunsSettled(t, it.ID)
	last := runsSince(t, it.ID, time.Now().Add(-time.Minute))[0]
	if last.Mode != "incremental" || last.Phase != "completed" || last.Payloads != 0 || last.Listed != 0 {
		t.Fatalf("duplicate notification: %+v", last)
	}
	if r := h.do("POST", "/v1/webhooks/airtable/"+uuid.NewString()+"/notifications", "", body, "X-Airtable-Content-MAC", "hmac-sha256="+hex.EncodeToString(good.Sum(nil))); r.Status != 401 {
		t.Fatalf("unknown client: %d", r.Status)
	}
	// A body over the 1 MiB limit is 413, not a bad MAC.
	big := append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 1<<20)...), `"}`...)
	bm := hmac.New(sha256.New, key)
	bm.Write(big)
	if r := h.do("POST", path, "", big, "X-Airtable-Content-MAC", "hmac-sha256="+hex.EncodeToString(bm.Sum(nil))); r.Status != 413 || r.errorOf(t).Error.Code != "PAYLOAD_TOO_LARGE" {
		t.Fatalf("oversized notification: %d %s", r.Status, r.Body)
	}
}

func TestIncrementalSyncFallsBackOnExpiredCursor(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 150)
	since := time.Now()
	if err := testEmu.DropNotifications(it.Base, it.Hook.WebhookID, 1); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{it.IDs[7]: "Lost7"}
	rename(t, it.Base, want)
	time.Sleep(300 * time.Millisecond)
	if err := testEmu.ExpireWebhookCursor(it.Base, it.Hook.WebhookID); err != nil {
		t.Fatal(err)
	}
	more := map[string]string{it.IDs[8]: "After8"}
	rename(t, it.Base, more)
	want[it.IDs[8]] = "After8"
	waitNames(t, it.ID, want)
	waitRunsSettled(t, it.ID)
	var fell *store.SyncRun
	for _, r := range runsSince(t, it.ID, since) {
		if r.FallbackReason != "" {
			fell = &r
		}
	}
	if fell == nil || fell.Phase != "completed" || fell.Pages == 0 || fell.Listed != 150 {
		t.Fatalf("no fallback listing: %+v", runsSince(t, it.ID, since))
	}
	// The cursor moved on: the next change is incremental again.
	since = time.Now()
	rename(t, it.Base, map[string]string{it.IDs[9]: "Again9"})
	waitNames(t, it.ID, map[string]string{it.IDs[9]: "Again9"})
	waitRunsSettled(t, it.ID)
	for _, r := range runsSince(t, it.ID, since) {
		if r.FallbackReason != "" || r.Pages != 0 {
			t.Fatalf("after the fallback: %+v", r)
		}
	}
}

func TestWebhookRefreshAndRecreate(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 30)
	ctx := context.Background()
	res, err := syncstart.RegisterWebhook(ctx, testTemporal, "test", it.ID.String())
	if err != nil || res.Created || !res.Refreshed || res.WebhookID != it.Hook.WebhookID || res.SyncID != "" {
		t.Fatalf("refresh: %+v %v", res, err)
	}
	hooks, _ := testEmu.Webhooks(it.Base)
	if len(hooks) != 1 || fmt.Sprint(hooks[0].Specification["options"].(map[string]any)["filters"]) != "map[dataTypes:[tableData]]" {
		t.Fatalf("a new webhook watches the whole base (leads and tasks): %+v", hooks)
	}
	// A webhook registered on the leads table only (before stop 14): re-created for the whole base.
	leadsID := "tbl" + it.Hook.WebhookID // any non-empty table id marks the old kind
	if _, err := testDB.Pool.Exec(ctx, `UPDATE airtable_webhooks SET table_id = $2 WHERE client_id = $1`, it.ID, leadsID); err != nil {
		t.Fatal(err)
	}
	res, err = syncstart.RegisterWebhook(ctx, testTemporal, "test", it.ID.String())
	if err != nil || !res.Created || res.WebhookID == it.Hook.WebhookID || res.SyncID == "" {
		t.Fatalf("leads-only hook: %+v %v", res, err)
	}
	h.waitSync(it.Admin, uuid.MustParse(res.SyncID), "completed")
	if hook, err := testStore.GetAirtableWebhook(ctx, it.ID); err != nil || hook.TableID != "" || hook.WebhookID != res.WebhookID {
		t.Fatalf("stored after re-scope: %+v %v", hook, err)
	}
	if hooks, _ = testEmu.Webhooks(it.Base); len(hooks) != 1 || hooks[0].ID != res.WebhookID {
		t.Fatalf("the leads-only hook was not deleted: %+v", hooks)
	}
	it.Hook.WebhookID = res.WebhookID
	// Disabled: re-created, and a full listing covers the time without notifications.
	if err := testEmu.DisableWebhook(it.Base, it.Hook.WebhookID); err != nil {
		t.Fatal(err)
	}
	res, err = syncstart.RegisterWebhook(ctx, testTemporal, "test", it.ID.String())
	if err != nil || !res.Created || res.WebhookID == it.Hook.WebhookID || res.SyncID == "" {
		t.Fatalf("disabled hook: %+v %v", res, err)
	}
	h.waitSync(it.Admin, uuid.MustParse(res.SyncID), "completed")
	// Notifications turned off by Airtable (the hook still records
	// payloads): re-created at the next check, with a full listing.
	if err := testEmu.DisableNotifications(it.Base, res.WebhookID); err != nil {
		t.Fatal(err)
	}
	rename(t, it.Base, map[string]string{it.IDs[6]: "Unnotified6"})
	time.Sleep(200 * time.Millisecond)
	if got := firstNames(t, it.ID, []string{it.IDs[6]}); got[it.IDs[6]] == "Unnotified6" {
		t.Fatal("a notification was sent with notifications off")
	}
	offHook := res.WebhookID
	res, err = syncstart.RegisterWebhook(ctx, testTemporal, "test", it.ID.String())
	if err != nil || !res.Created || res.WebhookID == offHook || res.SyncID == "" {
		t.Fatalf("notifications-off hook: %+v %v", res, err)
	}
	h.waitSync(it.Admin, uuid.MustParse(res.SyncID), "completed")
	waitNames(t, it.ID, map[string]string{it.IDs[6]: "Unnotified6"})
	// Gone from Airtable: re-created.
	if err := testEmu.DeleteWebhook(it.Base, res.WebhookID); err != nil {
		t.Fatal(err)
	}
	res, err = syncstart.RegisterWebhook(ctx, testTemporal, "test", it.ID.String())
	if err != nil || !res.Created || res.SyncID == "" {
		t.Fatalf("deleted hook: %+v %v", res, err)
	}
	h.waitSync(it.Admin, uuid.MustParse(res.SyncID), "completed")
	hooks, _ = testEmu.Webhooks(it.Base)
	if len(hooks) != 1 || hooks[0].ID != res.WebhookID {
		t.Fatalf("emulator hooks %+v", hooks)
	}
	// The new webhook carries changes.
	rename(t, it.Base, map[string]string{it.IDs[4]: "Recreated4"})
	waitNames(t, it.ID, map[string]string{it.IDs[4]: "Recreated4"})
}

// The scheduled listing (the incremental path's safety net) and the listing
// after a re-created webhook (both the StartSync trigger) are queued as a
// full re-run while a sync runs, never skipped.
func TestIncrementalScheduledListingQueuedWhileASyncRuns(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 300)
	if err := testEmu.SetLatency(it.Base, time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testEmu.SetLatency(it.Base, 0) })
	since := time.Now()
	rename(t, it.Base, map[string]string{it.IDs[3]: "Busy3"})
	deadline := time.Now().Add(30 * time.Second)
	for len(runsSince(t, it.ID, since)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no incremental run started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	trig := &syncstart.Trigger{Store: testStore, Temporal: testTemporal, TaskQueue: "test"}
	triggered := time.Now()
	id, err := trig.StartSync(ctx, it.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		t.Fatalf("the trigger started sync %s while the incremental one ran", id)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		runs := runsSince(t, it.ID, since)
		var full, incr int
		for _, r := range runs {
			if r.Phase != "completed" {
				continue
			}
			switch r.Mode {
			case "full":
				full++
			case "incremental":
				incr++
			}
		}
		if full == 1 && incr == 1 {
			for _, r := range runs {
				if r.Mode == "incremental" && (r.FinishedAt == nil || r.FinishedAt.Before(triggered)) {
					t.Fatalf("the incremental run ended before the trigger: the test proves nothing")
				}
			}
			break
		}
		if time.Now().After(deadline) {
			for _, r := range runs {
				t.Logf("run mode=%s phase=%s error=%q", r.Mode, r.Phase, r.Error)
			}
			t.Fatalf("want one incremental run and the queued full listing completed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitNames(t, it.ID, map[string]string{it.IDs[3]: "Busy3"})
}

// ResetWebhookCursor is a compare-and-swap on the cursor the caller read at.
func TestWebhookCursorResetCompareAndSwap(t *testing.T) {
	h := newHarness(t)
	it := newIncrTenant(t, h, 5)
	ctx := context.Background()
	at := it.Hook.Cursor
	if moved, err := testStore.ResetWebhookCursor(ctx, it.ID, it.Hook.WebhookID, at+7, 1); err != nil || moved {
		t.Fatalf("stale reset: moved=%v err=%v", moved, err)
	}
	if hook, err := testStore.GetAirtableWebhook(ctx, it.ID); err != nil || hook.Cursor != at {
		t.Fatalf("a stale reset moved the cursor %d to %d (%v)", at, hook.Cursor, err)
	}
	if moved, err := testStore.ResetWebhookCursor(ctx, it.ID, it.Hook.WebhookID, at, at+3); err != nil || !moved {
		t.Fatalf("reset: moved=%v err=%v", moved, err)
	}
	if hook, err := testStore.GetAirtableWebhook(ctx, it.ID); err != nil || hook.Cursor != at+3 {
		t.Fatalf("cursor %d, want %d (%v)", hook.Cursor, at+3, err)
	}
}

// A registration that fails (here: the base has no leads table) still
// leaves the hourly Schedule that tries again, and says so.
func TestWebhookRegistrationFailureKeepsTheSchedule(t *testing.T) {
	tn := newTenant(t, "hookfail")
	baseSeq++
	base := fmt.Sprintf("appHook%010d", baseSeq*7919+int(time.Now().UnixNano()%1000))
	if _, err := testEmu.CreateBase(base, "no leads", airtableemu.TasksSpec()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := testDB.Pool.Exec(ctx, `UPDATE clients SET airtable_base_id = $2 WHERE id = $1`, tn.ID, base); err != nil {
		t.Fatal(err)
	}
	sched := testTemporal.ScheduleClient().GetHandle(ctx, "airtable-webhook-refresh/"+tn.ID.String())
	t.Cleanup(func() { _ = sched.Delete(context.Background()) })
	_, err := syncstart.RegisterWebhook(ctx, testTemporal, "test", tn.ID.String())
	if err == nil || !strings.Contains(err.Error(), "tries again") || !strings.Contains(err.Error(), "no table") {
		t.Fatalf("registration against a base without the leads table: %v", err)
	}
	d, err := sched.Describe(ctx)
	if err != nil {
		t.Fatalf("no schedule after a failed registration: %v", err)
	}
	if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != time.Hour {
		t.Fatalf("schedule spec: %+v", d.Schedule.Spec)
	}
	if _, err := testStore.GetAirtableWebhook(ctx, tn.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a webhook was stored: %v", err)
	}
}
