package main_test

import (
	"fmt"
	"net/http/httptest"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/workflows"
)

// The worker is killed with SIGKILL while it deletes 20,000 approved
// staged leads, and restarted: exactly those 20,000 are gone (each with
// its audit row) and every other lead is still there.
func TestWorkerSIGKILLDuringDeletionApproval(t *testing.T) {
	s := newStack(t)
	ctx, dbase, srv := s.ctx, s.db, s.srv

	emu := airtableemu.New(airtableemu.Options{})
	es := httptest.NewServer(emu.Handler())
	defer es.Close()
	const base, total, removed = "appCrashSync00001", 25000, 20000
	if _, err := emu.CreateBase(base, "crash", airtableemu.LeadsSpec()); err != nil {
		t.Fatal(err)
	}
	fields := make([]map[string]any, total)
	for i := range fields {
		fields[i] = map[string]any{airtableemu.FieldFirstName: fmt.Sprint("L", i), airtableemu.FieldPhone: fmt.Sprintf("+1555%07d", i)}
	}
	ids, err := emu.SeedFields(base, "Leads", fields)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(dbase.Pool)
	cl, err := st.CreateClient(ctx, store.NewClient{Name: "crash-sync", Timezone: "UTC", AirtableBaseID: base, AirtableTable: "Leads"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	const queue = "crash-sync"
	start := func() *exec.Cmd {
		return s.worker(queue, "AIRTABLE_BASE_URL="+es.URL+"/v0", "AIRTABLE_RATE_PER_SECOND=0")
	}
	runSync := func() (uuid.UUID, client.WorkflowRun) {
		id := uuid.New()
		wfID := workflows.SyncWorkflowID(cl.ID.String())
		if err := st.CreateSyncRun(ctx, id, cl.ID, wfID); err != nil {
			t.Fatal(err)
		}
		run, err := srv.Client().ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: queue}, workflows.AirtableSync,
			workflows.SyncInput{SyncID: id.String(), ClientID: cl.ID.String(), BaseID: base, Table: "Leads", DeleteHeartbeat: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return id, run
	}
	w := start()
	defer func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() }()
	_, first := runSync()
	if err := first.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.DeleteRecords(base, "Leads", ids[:removed]...); err != nil {
		t.Fatal(err)
	}
	syncID, second := runSync()
	phase := func() (string, int, error) {
		var p string
		var deleted int
		err := dbase.Pool.QueryRow(ctx, `SELECT phase, deleted_count FROM sync_runs WHERE id = $1`, syncID).Scan(&p, &deleted)
		return p, deleted, err
	}
	mustPhase := func() (string, int) {
		t.Helper()
		p, d, err := phase()
		if err != nil {
			t.Fatal(err)
		}
		return p, d
	}
	for p, _ := mustPhase(); p != store.SyncAwaitingDecision; p, _ = mustPhase() {
		if p == store.SyncFailed || ctx.Err() != nil {
			t.Fatalf("second sync ended in %s", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := second.Get(ctx, nil); err != nil { // the sync hands the decision to its review and ends
		t.Fatal(err)
	}
	review := srv.Client().GetWorkflow(ctx, workflows.ReviewWorkflowID(syncID.String()), "")
	var verdict workflows.DecisionResult
	if err := temporalx.Update(ctx, srv.Client(), review.GetID(), workflows.UpdateApproveDeletions,
		workflows.DecisionRequest{Actor: "test", SyncID: syncID.String()}, &verdict); err != nil || verdict.Decision != "approved" {
		t.Fatalf("approve: %+v %v", verdict, err)
	}
	for _, d := mustPhase(); d < 3000; _, d = mustPhase() {
		if ctx.Err() != nil {
			t.Fatal("deletion made no progress")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, d := mustPhase(); d >= removed {
		t.Fatalf("deletion finished (%d) before the kill", d)
	}
	if err := w.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w.Wait()
	_, at := mustPhase()
	t.Logf("SIGKILL at %d deleted", at)
	w = start()
	var res workflows.SyncStatus
	if err := review.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	var left, leftRemoved, audits, deletedCount int
	if err := dbase.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE client_id = $1`, cl.ID).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if err := dbase.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE client_id = $1 AND airtable_record_id = ANY($2)`, cl.ID, ids[:removed]).Scan(&leftRemoved); err != nil {
		t.Fatal(err)
	}
	if err := dbase.Pool.QueryRow(ctx, `SELECT count(*) FROM activity_log WHERE action = 'lead.delete' AND details->>'sync_id' = $1`, syncID.String()).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if err := dbase.Pool.QueryRow(ctx, `SELECT deleted_count FROM sync_runs WHERE id = $1`, syncID).Scan(&deletedCount); err != nil {
		t.Fatal(err)
	}
	if left != total-removed || leftRemoved != 0 || audits != removed || deletedCount != removed || res.Phase != store.SyncCompleted {
		t.Fatalf("left %d (want %d), removed still there %d, audit rows %d, deleted_count %d, phase %s",
			left, total-removed, leftRemoved, audits, deletedCount, res.Phase)
	}
}
