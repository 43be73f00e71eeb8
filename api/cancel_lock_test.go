package api_test

import (
	"context"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// A cancel that has to wait longer than its local activity's timeout (10 s)
// for the campaign's lock (a slow enrollment batch holds it) is retried: it
// answers 200 once carried out, the campaign ends cancelled, and the
// workflow does not fail (it did: the SDK bounded the local activity's
// retries by its StartToCloseTimeout).
func TestCancelWaitingLongForTheLock(t *testing.T) {
	h := newHarness(t)
	tn := newTenant(t, "cancel-lock")
	ctx := context.Background()
	c, r := h.createCampaign(tn.Admin, map[string]any{"name": "slow lock", "target_tags": []string{"nobody"}, "messages": step(),
		"start_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	h.waitCampaign(tn.Admin, c.ID, "scheduled")
	tx, err := testDB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(2, hashtext($1::text))`, c.ID); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(15 * time.Second); _ = tx.Rollback(ctx) }()
	r = h.do("POST", "/v1/campaigns/"+c.ID.String()+"/cancel", tn.Admin, nil)
	t.Logf("cancel answered %d %s", r.Status, r.Body)
	time.Sleep(2 * time.Second)
	d, err := testTemporal.DescribeWorkflowExecution(ctx, c.WorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	st := d.GetWorkflowExecutionInfo().GetStatus()
	final := h.waitCampaign(tn.Admin, c.ID, "cancelled", "scheduled")
	t.Logf("workflow %s, campaign %s", st, final.Status)
	if r.Status != 200 || final.Status != "cancelled" || st == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED {
		it := testTemporal.GetWorkflowHistory(ctx, c.WorkflowID, "", false, 0)
		for it.HasNext() {
			ev, _ := it.Next()
			t.Logf("%d %s %v", ev.GetEventId(), ev.GetEventType(), ev.GetWorkflowExecutionFailedEventAttributes().GetFailure())
		}
		t.Fatalf("cancel answered %d, campaign %s, workflow %s", r.Status, final.Status, st)
	}
}
