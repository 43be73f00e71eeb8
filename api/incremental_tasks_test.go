package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/airtableemu"
)

// Airtable's task changes arrive through the webhook (issue 12: "the same
// incremental path"): with the task sync's own listing out of the way (its
// workflow is ended, and the API's window is 10 minutes), an edit and a
// new record of the Tasks table reach the tasks within seconds of the
// notification, with no listing; a destroyed record keeps its task (the
// local side wins, the conflict record says so) and the task is created
// again in Airtable. An older state of a record than the task has is
// never taken.
func TestIncrementalSyncAppliesTaskChanges(t *testing.T) {
	h := newTaskHarness(t, 10*time.Minute)
	it := newIncrTenant(t, h, 20)
	if err := testEmu.CreateTable(it.Base, airtableemu.TasksSpec()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stopTaskSync := func() {
		_ = testTemporal.TerminateWorkflow(ctx, "task-sync/"+it.ID.String(), "", "test: only the webhook path may pull")
	}
	t.Cleanup(stopTaskSync)

	tk := h.createTask(it.Admin, map[string]any{"title": "Order gloves", "notes": "two boxes"})
	if v := h.forceTaskSync(it.Admin, http.StatusOK); !v.InSync {
		t.Fatalf("verdict: %+v", v)
	}
	got := h.getTask(it.Admin, tk.ID)
	if got.SyncState != "synced" || got.AirtableRecordID == nil {
		t.Fatalf("after force sync: %+v", got)
	}
	rid := *got.AirtableRecordID
	stopTaskSync()
	waitRunsSettled(t, it.ID)

	before := baseStats(it.Base)
	editInAirtable(t, it.Base, rid, map[string]any{airtableemu.TaskFieldNotes: "three boxes", airtableemu.TaskFieldStatus: "done"})
	ids, err := testEmu.SeedFields(it.Base, airtableemu.TasksTable, []map[string]any{{airtableemu.TaskFieldTitle: "Made in Airtable", airtableemu.TaskFieldStatus: "blocked"}})
	if err != nil {
		t.Fatal(err)
	}
	waitTask(t, 5*time.Second, "Airtable's task edit through the webhook", func() bool {
		g := h.getTask(it.Admin, tk.ID)
		return g.Notes == "three boxes" && g.Status == "done" && g.SyncState == "synced"
	})
	var page struct {
		Data []taskJSON `json:"data"`
	}
	waitTask(t, 5*time.Second, "Airtable's new task through the webhook", func() bool {
		r := h.do("GET", "/v1/tasks?status=blocked", it.Viewer, nil)
		r.json(t, &page)
		return r.Status == http.StatusOK && len(page.Data) == 1
	})
	if p := page.Data[0]; p.Title != "Made in Airtable" || p.AirtableRecordID == nil || *p.AirtableRecordID != ids[0] || p.SyncState != "synced" {
		t.Fatalf("new task: %+v", p)
	}
	waitRunsSettled(t, it.ID)
	after := baseStats(it.Base)
	if after.ListRequests != before.ListRequests {
		t.Fatalf("%d listings ran; the webhook path should need none", after.ListRequests-before.ListRequests)
	}
	if r := after.Requests - before.Requests; r > 8 {
		t.Fatalf("%d Airtable requests for two task changes", r)
	}

	// A state older than the task's (a payload read after a newer listing) changes nothing.
	old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	res, err := (&activities.Sync{Store: testStore}).ApplyRemoteTasks(ctx, activities.ApplyTasksInput{ClientID: it.ID.String(),
		Records: []activities.TaskRecord{{ID: rid, Fields: map[string]any{airtableemu.TaskFieldTitle: "Order gloves", airtableemu.TaskFieldStatus: "todo", airtableemu.TaskFieldNotes: "two boxes"}, Modified: old}}})
	if err != nil || res.Unchanged != 1 || res.Updated != 0 {
		t.Fatalf("stale apply: %+v %v", res, err)
	}
	if g := h.getTask(it.Admin, tk.ID); g.Notes != "three boxes" || g.Status != "done" {
		t.Fatalf("a stale state was taken: %+v", g)
	}

	// Destroyed in Airtable: the task stays, says so, and is created again.
	if _, err := emuTasksTable(t, it.Base).DeleteRecords([]string{rid}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, 15*time.Second, "the destroyed record's task created again", func() bool {
		g := h.getTask(it.Admin, tk.ID)
		return g.AirtableRecordID != nil && *g.AirtableRecordID != rid && !g.PushPending && g.Conflict["record"].Winner == "local"
	})
	rec, ok := emuTask(t, it.Base, tk.ID)
	if !ok || rec.Fields[airtableemu.TaskFieldNotes] != "three boxes" {
		t.Fatalf("re-created record: %+v %v", rec, ok)
	}
	if g := h.getTask(it.Admin, tk.ID); g.SyncState != "conflict" {
		t.Fatalf("after re-create: %+v", g)
	}
}

// A push that read the task before a webhook payload applied Airtable's
// edit of another field marks only the fields it wrote as synced: the
// Airtable edit stays agreed on both sides (no spurious conflict later),
// and a push to a record destroyed meanwhile does not link it again.
func TestTaskPushDoesNotOverwriteAConcurrentAirtableEdit(t *testing.T) {
	h := newTaskHarness(t, 10*time.Minute)
	tn := newTaskTenant(t, true)
	ctx := context.Background()
	tk := h.createTask(tn.Admin, map[string]any{"title": "Gloves", "notes": "two boxes"})
	if v := h.forceTaskSync(tn.Admin, http.StatusOK); !v.InSync {
		t.Fatalf("verdict: %+v", v)
	}
	_ = testTemporal.TerminateWorkflow(ctx, "task-sync/"+tn.ID.String(), "", "test drives the push by hand")
	h.patchTask(tn.Admin, tk.ID, map[string]any{"title": "Nitrile gloves"})
	read, err := testStore.GetTask(ctx, nil, tk.ID) // what the push read
	if err != nil {
		t.Fatal(err)
	}
	rid := *read.AirtableRecordID
	// Meanwhile Airtable's edit of the notes arrives (newer than anything seen).
	res, err := (&activities.Sync{Store: testStore}).ApplyRemoteTasks(ctx, activities.ApplyTasksInput{ClientID: tn.ID.String(),
		Records: []activities.TaskRecord{{ID: rid, Fields: map[string]any{airtableemu.TaskFieldTitle: "Gloves", airtableemu.TaskFieldStatus: "todo",
			airtableemu.TaskFieldNotes: "three boxes"}, Modified: time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)}}})
	if err != nil || res.Updated != 1 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	// The push (title only) is accepted.
	if err := testStore.MarkTaskPushed(ctx, tk.ID, rid, read.Synced(), read.Values(), nil); err != nil {
		t.Fatal(err)
	}
	got, err := testStore.GetTask(ctx, nil, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Synced(); s == nil || s.Title != "Nitrile gloves" || s.Notes != "three boxes" || got.Notes != "three boxes" || got.PushPending || got.SyncState != "synced" {
		t.Fatalf("after the push: %+v synced %+v", got, got.Synced())
	}
	// Destroyed in Airtable (unlinked), then a late push answer: not linked again.
	if n, err := testStore.TaskRecordsDestroyed(ctx, tn.ID, []string{rid}); err != nil || n != 1 {
		t.Fatalf("destroyed: %d %v", n, err)
	}
	if n, err := testStore.TaskRecordsDestroyed(ctx, tn.ID, []string{rid}); err != nil || n != 0 {
		t.Fatalf("destroyed twice: %d %v", n, err)
	}
	if err := testStore.MarkTaskPushed(ctx, tk.ID, rid, got.Synced(), got.Values(), nil); err != nil {
		t.Fatal(err)
	}
	if g, _ := testStore.GetTask(ctx, nil, tk.ID); g.AirtableRecordID != nil || !g.PushPending {
		t.Fatalf("a destroyed record was linked again: %+v", g)
	}
}
