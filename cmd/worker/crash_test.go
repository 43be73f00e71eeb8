package main_test

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/workflows"
)

// The worker is killed with SIGKILL three times while it enrolls 50,000
// leads and restarted each time: the campaign still ends with exactly
// 50,000 enrollments, each lead once.
func TestWorkerSIGKILLDuringEnrollment(t *testing.T) {
	s := newStack(t)
	ctx, dbase, srv := s.ctx, s.db, s.srv

	st := store.New(dbase.Pool)
	cl, err := st.CreateClient(ctx, store.NewClient{Name: "crash", Timezone: "UTC", AirtableTable: "Leads"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	const n = 50000
	if _, err := dbase.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, tags) SELECT $1::uuid, 'rec' || g, ARRAY['all'] FROM generate_series(1, $2) g`, cl.ID, n); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	nc := store.NewCampaign{ID: id, ClientID: cl.ID, Name: "crash", Audience: campaign.Audience{TargetTags: []string{"all"}},
		Messages: []campaign.Step{{Body: "hi"}}, Status: campaign.StatusActivating, WorkflowID: workflows.CampaignWorkflowID(id.String())}
	if err := pgx.BeginFunc(ctx, dbase.Pool, func(tx pgx.Tx) error { _, err := store.InsertCampaign(ctx, tx, nc); return err }); err != nil {
		t.Fatal(err)
	}
	const queue = "crash"
	run, err := srv.Client().ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: nc.WorkflowID, TaskQueue: queue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.Campaign, workflows.CampaignInput{
		CampaignID: id.String(), ClientID: cl.ID.String(),
		BatchSize: 200, ChunkBudget: time.Second, HeartbeatTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}

	start := func() *exec.Cmd { return s.worker(queue) }
	enrolled := func() (int, error) {
		var c int
		err := dbase.Pool.QueryRow(ctx, `SELECT enrolled_count FROM campaigns WHERE id = $1`, id).Scan(&c)
		return c, err
	}
	mustEnrolled := func() int {
		t.Helper()
		c, err := enrolled()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	w := start()
	kills := 0
	for _, threshold := range []int{5000, 20000, 35000} {
		for mustEnrolled() < threshold {
			if ctx.Err() != nil {
				t.Fatal("timed out waiting for enrollment progress")
			}
			time.Sleep(2 * time.Millisecond)
		}
		if got := mustEnrolled(); got >= n {
			t.Fatalf("enrollment finished (%d) before kill %d: make batches smaller", got, kills+1)
		}
		if err := w.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = w.Wait()
		kills++
		t.Logf("SIGKILL %d at %d enrolled", kills, mustEnrolled())
		w = start()
	}
	defer func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() }()

	// Enrollment done: the campaign is active (its sequence is not this
	// test's concern: its leads have no phone); then cancel it.
	var status string
	for status != campaign.StatusActive {
		if ctx.Err() != nil {
			t.Fatalf("campaign is %s, never active", status)
		}
		if err := dbase.Pool.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1`, id).Scan(&status); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var p workflows.CampaignProgress
	if v, err := srv.Client().QueryWorkflow(ctx, nc.WorkflowID, "", workflows.QueryProgress); err != nil || v.Get(&p) != nil {
		t.Fatalf("progress: %v", err)
	}
	var verdict workflows.SteerResult
	if err := temporalx.Update(ctx, srv.Client(), nc.WorkflowID, workflows.UpdateCancel, workflows.SteerRequest{Actor: "test"}, &verdict); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	var rows, distinct, counter int
	if err := dbase.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT lead_id) FROM campaign_enrollments WHERE campaign_id = $1`, id).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if err := dbase.Pool.QueryRow(ctx, `SELECT enrolled_count, status FROM campaigns WHERE id = $1`, id).Scan(&counter, &status); err != nil {
		t.Fatal(err)
	}
	if kills != 3 || rows != n || distinct != n || counter != n || p.Enrolled != n || status != campaign.StatusCancelled {
		t.Fatal(fmt.Sprintf("kills %d rows %d distinct %d counter %d progress %+v status %s", kills, rows, distinct, counter, p, status))
	}
}
