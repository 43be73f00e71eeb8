package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/mehanizm/airtable"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/airtableemu"
)

// taskWindow is the conflict window of the task tests' fast harness.
const taskWindow = 2 * time.Second

// newTaskHarness is newHarness with the given task sync window.
func newTaskHarness(t *testing.T, window time.Duration) *harness {
	t.Helper()
	r := api.Router(api.Deps{Store: testStore, Temporal: testTemporal, Logger: zap.NewNop(), TaskQueue: "test", SMS: testSMSConfig(),
		TaskSyncWindow: window})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	testPublic.set(r) // Airtable's notifications reach this API
	return &harness{t: t, srv: srv}
}

// taskTenant is a client whose Airtable base (in the emulator) has a Tasks table.
type taskTenant struct {
	tenant
	Base string
}

func newTaskTenant(t *testing.T, withTasks bool) taskTenant {
	t.Helper()
	baseSeq++
	base := fmt.Sprintf("appTask%010d", baseSeq*7919+int(time.Now().UnixNano()%100000))
	specs := []airtableemu.TableSpec{airtableemu.LeadsSpec()}
	if withTasks {
		specs = append(specs, airtableemu.TasksSpec())
	}
	if _, err := testEmu.CreateBase(base, "tasks", specs...); err != nil {
		t.Fatal(err)
	}
	tn := newTenant(t, "tasks")
	if _, err := testDB.Pool.Exec(context.Background(), `UPDATE clients SET airtable_base_id = $2 WHERE id = $1`, tn.ID, base); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = testTemporal.TerminateWorkflow(context.Background(), "task-sync/"+tn.ID.String(), "", "test over")
	})
	return taskTenant{tenant: tn, Base: base}
}

type taskJSON struct {
	ID               uuid.UUID `json:"id"`
	AirtableRecordID *string   `json:"airtable_record_id"`
	Title            string    `json:"title"`
	Status           string    `json:"status"`
	Assignee         string    `json:"assignee"`
	DueDate          *string   `json:"due_date"`
	Notes            string    `json:"notes"`
	SyncState        string    `json:"sync_state"`
	PushPending      bool      `json:"push_pending"`
	Conflict         map[string]struct {
		Local, Remote, Base, Winner string
	} `json:"conflict"`
}

func (h *harness) getTask(tok string, id uuid.UUID) taskJSON {
	h.t.Helper()
	r := h.do("GET", "/v1/tasks/"+id.String(), tok, nil)
	if r.Status != http.StatusOK {
		h.t.Fatalf("get task: %d %s", r.Status, r.Body)
	}
	var tk taskJSON
	r.json(h.t, &tk)
	return tk
}

func (h *harness) createTask(tok string, body map[string]any) taskJSON {
	h.t.Helper()
	r := h.do("POST", "/v1/tasks", tok, body)
	if r.Status != http.StatusCreated {
		h.t.Fatalf("create task: %d %s", r.Status, r.Body)
	}
	var tk taskJSON
	r.json(h.t, &tk)
	return tk
}

func (h *harness) patchTask(tok string, id uuid.UUID, body any) taskJSON {
	h.t.Helper()
	r := h.do("PATCH", "/v1/tasks/"+id.String(), tok, body)
	if r.Status != http.StatusOK {
		h.t.Fatalf("patch task: %d %s", r.Status, r.Body)
	}
	var tk taskJSON
	r.json(h.t, &tk)
	return tk
}

type verdictJSON struct {
	InSync       bool   `json:"in_sync"`
	StillRunning bool   `json:"still_running"`
	Message      string `json:"message"`
	PendingCount int    `json:"pending_count"`
	PushError    string `json:"push_error"`
	PullError    string `json:"pull_error"`
	Pending      []struct {
		ID     uuid.UUID `json:"id"`
		Reason string    `json:"reason"`
	} `json:"pending"`
}

func (h *harness) forceTaskSync(tok string, want int) verdictJSON {
	h.t.Helper()
	r := h.do("POST", "/v1/tasks/sync", tok, map[string]any{})
	if r.Status != want {
		h.t.Fatalf("force sync: %d (want %d) %s", r.Status, want, r.Body)
	}
	var v verdictJSON
	r.json(h.t, &v)
	return v
}

// emuTask finds the emulator's record of a task by its Nurture ID.
func emuTask(t *testing.T, base string, id uuid.UUID) (airtableemu.Record, bool) {
	t.Helper()
	recs, err := testEmu.Records(base, airtableemu.TasksTable)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Fields[airtableemu.TaskFieldNurtureID] == id.String() {
			return r, true
		}
	}
	return airtableemu.Record{}, false
}

// waitTask polls cond until it holds or the deadline passes.
func waitTask(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func emuTasksTable(t *testing.T, base string) *airtable.Table {
	t.Helper()
	c := airtable.NewClient("test")
	if err := c.SetBaseURL(testEmuURL + "/v0"); err != nil {
		t.Fatal(err)
	}
	c.SetRateLimit(1000)
	return c.GetTable(base, airtableemu.TasksTable)
}

func editInAirtable(t *testing.T, base, recordID string, fields map[string]any) {
	t.Helper()
	if _, err := emuTasksTable(t, base).UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{{ID: recordID, Fields: fields}}}); err != nil {
		t.Fatal(err)
	}
}

// A task created locally appears in Airtable, and a local edit reaches the
// emulator's record within the window plus 5 s; the task then reads synced.
func TestTaskLocalEditsReachAirtableWithinTheWindow(t *testing.T) {
	h := newTaskHarness(t, taskWindow)
	tn := newTaskTenant(t, true)
	tk := h.createTask(tn.Admin, map[string]any{"title": "Call the lab", "assignee": "Dana", "due_date": "2026-12-24"})
	if tk.SyncState != "pending" || tk.AirtableRecordID != nil || tk.Status != "todo" {
		t.Fatalf("new task: %+v", tk)
	}
	var rec airtableemu.Record
	waitTask(t, taskWindow+5*time.Second, "created in Airtable", func() bool {
		var ok bool
		rec, ok = emuTask(t, tn.Base, tk.ID)
		return ok
	})
	if rec.Fields[airtableemu.TaskFieldTitle] != "Call the lab" || rec.Fields[airtableemu.TaskFieldDueDate] != "2026-12-24" ||
		rec.Fields[airtableemu.TaskFieldAssignee] != "Dana" || rec.Fields[airtableemu.TaskFieldStatus] != "todo" {
		t.Fatalf("record: %v", rec.Fields)
	}
	waitTask(t, 5*time.Second, "task synced", func() bool { return h.getTask(tn.Viewer, tk.ID).SyncState == "synced" })
	got := h.getTask(tn.Viewer, tk.ID)
	if got.AirtableRecordID == nil || *got.AirtableRecordID != rec.ID {
		t.Fatalf("record id %v, want %s", got.AirtableRecordID, rec.ID)
	}

	edited := h.patchTask(tn.Admin, tk.ID, map[string]any{"status": "in_progress", "due_date": nil})
	if edited.SyncState != "pending" || edited.Status != "in_progress" || edited.DueDate != nil {
		t.Fatalf("after edit: %+v", edited)
	}
	waitTask(t, taskWindow+5*time.Second, "edit in Airtable", func() bool {
		r, err := testEmu.GetRecord(tn.Base, airtableemu.TasksTable, rec.ID)
		return err == nil && r.Fields[airtableemu.TaskFieldStatus] == "in_progress" && r.Fields[airtableemu.TaskFieldDueDate] == nil
	})
	waitTask(t, 5*time.Second, "task synced after the edit", func() bool { return h.getTask(tn.Viewer, tk.ID).SyncState == "synced" })
	// The edit is audited.
	var n int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM activity_log WHERE entity = 'task' AND entity_id = $1
		AND action IN ('task.create', 'task.update')`, tk.ID.String()).Scan(&n); err != nil || n != 2 {
		t.Fatalf("audit rows: %d %v", n, err)
	}
}

// An edit in Airtable is pulled (and a record new to Nurture becomes a
// task); force sync returns once both sides agree.
func TestTaskAirtableEditsArePulled(t *testing.T) {
	h := newTaskHarness(t, taskWindow)
	tn := newTaskTenant(t, true)
	tk := h.createTask(tn.Admin, map[string]any{"title": "Order gloves", "notes": "two boxes"})
	v := h.forceTaskSync(tn.Admin, http.StatusOK)
	if !v.InSync || v.PendingCount != 0 {
		t.Fatalf("verdict: %+v", v)
	}
	got := h.getTask(tn.Admin, tk.ID)
	if got.SyncState != "synced" || got.AirtableRecordID == nil {
		t.Fatalf("after force sync: %+v", got)
	}
	editInAirtable(t, tn.Base, *got.AirtableRecordID, map[string]any{airtableemu.TaskFieldNotes: "three boxes", airtableemu.TaskFieldStatus: "done"})
	ids, err := testEmu.SeedFields(tn.Base, airtableemu.TasksTable, []map[string]any{{airtableemu.TaskFieldTitle: "Made in Airtable", airtableemu.TaskFieldStatus: "blocked"}})
	if err != nil {
		t.Fatal(err)
	}
	waitTask(t, taskWindow+5*time.Second, "Airtable edit pulled", func() bool {
		g := h.getTask(tn.Admin, tk.ID)
		return g.Notes == "three boxes" && g.Status == "done" && g.SyncState == "synced"
	})
	r := h.do("GET", "/v1/tasks?status=blocked", tn.Viewer, nil)
	var page struct {
		Data []taskJSON `json:"data"`
	}
	r.json(t, &page)
	if r.Status != http.StatusOK || len(page.Data) != 1 || page.Data[0].Title != "Made in Airtable" || *page.Data[0].AirtableRecordID != ids[0] ||
		page.Data[0].SyncState != "synced" {
		t.Fatalf("pulled new record: %d %s", r.Status, r.Body)
	}
}

// The same field edited on both sides inside one window: the newer edit
// wins, the other value is kept in the conflict record, and the task is
// listed by sync_state=conflict. The window is long here and force sync
// runs the cycle, so both edits surely land in one window.
func TestTaskConflictNewerEditWinsAndNothingIsLost(t *testing.T) {
	h := newTaskHarness(t, time.Minute)
	tn := newTaskTenant(t, true)
	a := h.createTask(tn.Admin, map[string]any{"title": "Remote will win"})
	b := h.createTask(tn.Admin, map[string]any{"title": "Local will win"})
	h.forceTaskSync(tn.Admin, http.StatusOK)
	ra, rb := *h.getTask(tn.Admin, a.ID).AirtableRecordID, *h.getTask(tn.Admin, b.ID).AirtableRecordID

	// a: local edit first, then Airtable's (newer).
	h.patchTask(tn.Admin, a.ID, map[string]any{"title": "local A", "assignee": "Sam"})
	time.Sleep(20 * time.Millisecond)
	editInAirtable(t, tn.Base, ra, map[string]any{airtableemu.TaskFieldTitle: "remote A"})
	// b: Airtable's edit first, then the local one (newer).
	editInAirtable(t, tn.Base, rb, map[string]any{airtableemu.TaskFieldTitle: "remote B", airtableemu.TaskFieldNotes: "from Airtable"})
	time.Sleep(20 * time.Millisecond)
	h.patchTask(tn.Admin, b.ID, map[string]any{"title": "local B"})

	v := h.forceTaskSync(tn.Admin, http.StatusOK)
	if !v.InSync {
		t.Fatalf("verdict: %+v", v)
	}
	ga := h.getTask(tn.Admin, a.ID)
	if ga.Title != "remote A" || ga.Assignee != "Sam" || ga.SyncState != "conflict" {
		t.Fatalf("a: %+v", ga)
	}
	if c := ga.Conflict["title"]; c.Local != "local A" || c.Remote != "remote A" || c.Winner != "remote" || c.Base != "Remote will win" {
		t.Fatalf("a's conflict: %+v", ga.Conflict)
	}
	gb := h.getTask(tn.Admin, b.ID)
	if gb.Title != "local B" || gb.Notes != "from Airtable" || gb.SyncState != "conflict" || gb.PushPending {
		t.Fatalf("b: %+v", gb)
	}
	if c := gb.Conflict["title"]; c.Local != "local B" || c.Remote != "remote B" || c.Winner != "local" {
		t.Fatalf("b's conflict: %+v", gb.Conflict)
	}
	// Both sides agree on the winners.
	recA, _ := testEmu.GetRecord(tn.Base, airtableemu.TasksTable, ra)
	recB, _ := testEmu.GetRecord(tn.Base, airtableemu.TasksTable, rb)
	if recA.Fields[airtableemu.TaskFieldTitle] != "remote A" || recA.Fields[airtableemu.TaskFieldAssignee] != "Sam" ||
		recB.Fields[airtableemu.TaskFieldTitle] != "local B" || recB.Fields[airtableemu.TaskFieldNotes] != "from Airtable" {
		t.Fatalf("Airtable: %v / %v", recA.Fields, recB.Fields)
	}
	r := h.do("GET", "/v1/tasks?sync_state=conflict", tn.Viewer, nil)
	var page struct {
		Data []taskJSON `json:"data"`
	}
	r.json(t, &page)
	if r.Status != http.StatusOK || len(page.Data) != 2 {
		t.Fatalf("conflicts listed: %d %s", r.Status, r.Body)
	}
	// After review, resolve_conflict clears the record.
	if g := h.patchTask(tn.Admin, a.ID, map[string]any{"resolve_conflict": true}); g.SyncState != "synced" || g.Conflict != nil {
		t.Fatalf("resolved: %+v", g)
	}
}

// Force sync on a base without a Tasks table answers what is pending and
// why (202), and 409 for a client without a base.
func TestTaskForceSyncSaysWhatIsPending(t *testing.T) {
	h := newTaskHarness(t, time.Minute)
	tn := newTaskTenant(t, false)
	tk := h.createTask(tn.Admin, map[string]any{"title": "Nowhere to go"})
	v := h.forceTaskSync(tn.Admin, http.StatusAccepted)
	if v.InSync || v.PendingCount != 1 || len(v.Pending) != 1 || v.Pending[0].ID != tk.ID || v.Pending[0].Reason == "" || v.PullError == "" {
		t.Fatalf("verdict: %+v", v)
	}
	if g := h.getTask(tn.Admin, tk.ID); g.SyncState != "pending" {
		t.Fatalf("task: %+v", g)
	}
	nb := newTenant(t, "nobase")
	r := h.do("POST", "/v1/tasks/sync", nb.Admin, map[string]any{})
	if r.Status != http.StatusConflict {
		t.Fatalf("no base: %d %s", r.Status, r.Body)
	}
	r.errorOf(t)
}

// Roles, tenancy and validation: a viewer cannot write, another client's
// task is 404, bad input is 400 naming the field, a super admin names the
// client; listing pages with a cursor.
func TestTaskAPIRolesTenancyValidation(t *testing.T) {
	h := newTaskHarness(t, time.Minute)
	tn := newTenant(t, "tasks-roles")
	other := newTenant(t, "tasks-other")
	sup := superToken(t)
	tk := h.createTask(tn.Admin, map[string]any{"title": "Mine"})

	for _, c := range []struct{ method, path string }{{"POST", "/v1/tasks"}, {"PATCH", "/v1/tasks/" + tk.ID.String()}, {"POST", "/v1/tasks/sync"}} {
		r := h.do(c.method, c.path, tn.Viewer, map[string]any{"title": "x"})
		if r.Status != http.StatusForbidden {
			t.Fatalf("viewer %s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
		r.errorOf(t)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/v1/tasks/" + tk.ID.String()}, {"PATCH", "/v1/tasks/" + tk.ID.String()}} {
		r := h.do(c.method, c.path, other.Admin, map[string]any{"title": "x"})
		if r.Status != http.StatusNotFound {
			t.Fatalf("other client %s: %d %s", c.method, r.Status, r.Body)
		}
	}
	r := h.do("GET", "/v1/tasks", other.Admin, nil)
	if r.Status != http.StatusOK || string(r.Body) != `{"data":[],"next_cursor":null}` {
		t.Fatalf("other client's list: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/v1/tasks", map[string]any{"title": "  "}, "title"},
		{"POST", "/v1/tasks", map[string]any{"title": "a", "status": "Done"}, "status"},
		{"POST", "/v1/tasks", map[string]any{"title": "a", "due_date": "2026-02-30"}, "due_date"},
		{"POST", "/v1/tasks", map[string]any{"title": "a", "owner": "x"}, "owner"},
		{"POST", "/v1/tasks", `{"title": 5}`, "title"},
		{"PATCH", "/v1/tasks/" + tk.ID.String(), map[string]any{}, "body"},
		{"PATCH", "/v1/tasks/" + tk.ID.String(), map[string]any{"title": nil}, "title"},
		{"PATCH", "/v1/tasks/" + tk.ID.String(), map[string]any{"notes": strings.Repeat("a", 5001)}, "notes"},
		{"PATCH", "/v1/tasks/not-a-uuid", map[string]any{"title": "x"}, "id"},
		{"GET", "/v1/tasks?sync_state=dirty", nil, "sync_state"},
		{"GET", "/v1/tasks?limit=0", nil, "limit"},
		{"GET", "/v1/tasks?cursor=zz", nil, "cursor"},
		{"GET", "/v1/tasks?nope=1", nil, "nope"},
	} {
		r := h.do(c.method, c.path, tn.Admin, c.body)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s %s %v: %d %s", c.method, c.path, c.body, r.Status, r.Body)
		}
		if f := r.errorOf(t).Error.Details["field"]; f != c.field {
			t.Fatalf("%s %s %v: field %v, want %s", c.method, c.path, c.body, f, c.field)
		}
	}
	if g := h.getTask(tn.Admin, tk.ID); g.Title != "Mine" {
		t.Fatalf("a refused write changed the task: %+v", g)
	}
	// A super admin must name the client.
	r = h.do("POST", "/v1/tasks", sup, map[string]any{"title": "x"})
	if r.Status != http.StatusBadRequest || r.errorOf(t).Error.Details["field"] != "client_id" {
		t.Fatalf("super without client: %d %s", r.Status, r.Body)
	}
	h.createTask(sup, map[string]any{"title": "Second", "client_id": tn.ID.String()})
	h.createTask(tn.Admin, map[string]any{"title": "Third"})
	// Pages of 2 walk all three once.
	seen := map[uuid.UUID]bool{}
	path := "/v1/tasks?limit=2"
	for page := 0; page < 3; page++ {
		r := h.do("GET", path, tn.Viewer, nil)
		var p struct {
			Data       []taskJSON `json:"data"`
			NextCursor *string    `json:"next_cursor"`
		}
		r.json(t, &p)
		for _, x := range p.Data {
			if seen[x.ID] {
				t.Fatalf("task %s twice", x.ID)
			}
			seen[x.ID] = true
		}
		if p.NextCursor == nil {
			break
		}
		path = "/v1/tasks?limit=2&cursor=" + *p.NextCursor
	}
	if len(seen) != 3 {
		t.Fatalf("walked %d tasks, want 3", len(seen))
	}
}

// A force sync whose cycle outlives the API's wait (Airtable slow) answers
// 202 with what the database says is pending, not 503; the cycle carries
// on and the task reaches Airtable.
func TestTaskForceSyncOutlivingItsWaitSaysWhatIsPending(t *testing.T) {
	r := api.Router(api.Deps{Store: testStore, Temporal: testTemporal, Logger: zap.NewNop(), TaskQueue: "test", SMS: testSMSConfig(),
		TaskSyncWindow: taskWindow, TaskForceWait: time.Second})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	h := &harness{t: t, srv: srv}
	tn := newTaskTenant(t, true)
	if err := testEmu.SetFaults(tn.Base, airtableemu.Faults{Latency: 2500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testEmu.ClearFaults(tn.Base) })
	tk := h.createTask(tn.Admin, map[string]any{"title": "Slow Airtable"})
	v := h.forceTaskSync(tn.Admin, http.StatusAccepted)
	if !v.StillRunning || v.InSync || v.Message == "" || v.PendingCount != 1 || len(v.Pending) != 1 || v.Pending[0].ID != tk.ID ||
		v.Pending[0].Reason != "not yet created in Airtable" {
		t.Fatalf("verdict: %+v", v)
	}
	if err := testEmu.ClearFaults(tn.Base); err != nil {
		t.Fatal(err)
	}
	waitTask(t, 20*time.Second, "the slow cycle carried on", func() bool {
		g := h.getTask(tn.Admin, tk.ID)
		return g.SyncState == "synced" && g.AirtableRecordID != nil
	})
}

// One record Airtable refuses (a status its Status field has no choice
// for) does not hold back the others written in the same request of 10:
// they are synced, only that task stays pending with Airtable's reason.
func TestTaskPushOneRefusedRecordDoesNotBlockItsBatch(t *testing.T) {
	h := newTaskHarness(t, 10*time.Minute)
	tn := newTaskTenant(t, false)
	spec := airtableemu.TasksSpec()
	for i, f := range spec.Fields {
		if f.Name == airtableemu.TaskFieldStatus {
			spec.Fields[i].Options = []string{"todo", "in_progress", "done"} // no "blocked"
		}
	}
	if err := testEmu.CreateTable(tn.Base, spec); err != nil {
		t.Fatal(err)
	}
	var ok []taskJSON
	for i := 0; i < 4; i++ {
		ok = append(ok, h.createTask(tn.Admin, map[string]any{"title": fmt.Sprintf("Fine %d", i), "status": "todo"}))
	}
	bad := h.createTask(tn.Admin, map[string]any{"title": "Stuck", "status": "blocked"})
	v := h.forceTaskSync(tn.Admin, http.StatusAccepted)
	if v.InSync || v.PendingCount != 1 || len(v.Pending) != 1 || v.Pending[0].ID != bad.ID ||
		!strings.Contains(v.Pending[0].Reason, "INVALID_MULTIPLE_CHOICE_OPTIONS") || v.PushError == "" {
		t.Fatalf("verdict: %+v", v)
	}
	for _, tk := range ok {
		if g := h.getTask(tn.Admin, tk.ID); g.SyncState != "synced" || g.AirtableRecordID == nil {
			t.Fatalf("a valid task of the refused batch: %+v", g)
		}
		if _, found := emuTask(t, tn.Base, tk.ID); !found {
			t.Fatalf("task %s not in Airtable", tk.ID)
		}
	}
	// The same refused edit fixed locally: the next cycle writes it.
	h.patchTask(tn.Admin, bad.ID, map[string]any{"status": "in_progress"})
	if v := h.forceTaskSync(tn.Admin, http.StatusOK); !v.InSync {
		t.Fatalf("after the fix: %+v", v)
	}
}
