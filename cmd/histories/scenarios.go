package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/workflows"
)

// scenarios are the paths a running workflow can be on. Each one ends in a
// recorded history (or several: one per run).
var scenarios = []scenario{
	{"campaign-immediate", func(r *rec) ([]string, error) {
		if err := r.seedLeads(10, "t"); err != nil {
			return nil, err
		}
		c, err := r.createCampaign("immediate", nil)
		if err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"campaign-scheduled", func(r *rec) ([]string, error) {
		if err := r.seedLeads(10, "t"); err != nil {
			return nil, err
		}
		c, err := r.createCampaign("scheduled", map[string]any{"start_at": time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)})
		if err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"campaign-rescheduled", func(r *rec) ([]string, error) {
		if err := r.seedLeads(10, "t"); err != nil {
			return nil, err
		}
		c, err := r.createCampaign("rescheduled", map[string]any{"start_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)})
		if err != nil {
			return nil, err
		}
		if err := r.steer(c, "reschedule", map[string]any{"start_at": time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)}); err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"campaign-cancel-scheduled", func(r *rec) ([]string, error) {
		if err := r.seedLeads(5, "t"); err != nil {
			return nil, err
		}
		c, err := r.createCampaign("cancel", map[string]any{"start_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)})
		if err != nil {
			return nil, err
		}
		if err := r.steer(c, "cancel", nil); err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCancelled)
	}},
	{"campaign-retry-activation", func(r *rec) ([]string, error) {
		if err := r.seedLeads(5, "t"); err != nil {
			return nil, err
		}
		if err := r.st.SetClientDisabled(r.ctx, r.client, true, "histories"); err != nil {
			return nil, err
		}
		c, err := r.createCampaign("retry", nil)
		if err != nil {
			return nil, err
		}
		if _, err := r.waitCampaign(c.ID, campaign.StatusFailedActivation); err != nil {
			return nil, err
		}
		if err := r.st.SetClientDisabled(r.ctx, r.client, false, "histories"); err != nil {
			return nil, err
		}
		if err := r.steer(c, "retry-activation", nil); err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"campaign-no-eligible", func(r *rec) ([]string, error) {
		c, err := r.createCampaign("nobody", nil)
		if err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusNoEligibleLeads)
	}},
	{"campaign-capped", func(r *rec) ([]string, error) {
		if err := r.seedLeads(10, "t"); err != nil {
			return nil, err
		}
		c, err := r.createCampaign("capped", map[string]any{"max_leads": 3})
		if err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"campaign-waiting-timer", func(r *rec) ([]string, error) {
		// Still running: a campaign that waits months for its start.
		c, err := r.createCampaign("months ahead", map[string]any{"start_at": time.Now().Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339Nano)})
		if err != nil {
			return nil, err
		}
		_, err = r.waitCampaign(c.ID, campaign.StatusScheduled)
		time.Sleep(time.Second) // let the timer be started
		return []string{c.WorkflowID}, err
	}},
	{"campaign-waiting-retry", func(r *rec) ([]string, error) {
		// Still running: failed activation, waiting for retry-activation.
		if err := r.st.SetClientDisabled(r.ctx, r.client, true, "histories"); err != nil {
			return nil, err
		}
		c, err := r.createCampaign("waits for retry", nil)
		if err != nil {
			return nil, err
		}
		_, err = r.waitCampaign(c.ID, campaign.StatusFailedActivation)
		time.Sleep(time.Second) // let the alert activity finish
		return []string{c.WorkflowID}, err
	}},
	{"sync-clean", func(r *rec) ([]string, error) {
		if _, err := r.airtableBase(30); err != nil {
			return nil, err
		}
		s, err := r.startSync()
		if err != nil {
			return nil, err
		}
		return []string{s.WorkflowID}, r.syncDone(s, store.SyncCompleted)
	}},
	{"sync-approve", func(r *rec) ([]string, error) {
		s, err := r.stagedSync(30, 5)
		if err != nil {
			return nil, err
		}
		if err := r.expect("POST", "/v1/syncs/"+s.ID+"/approve-deletions", nil, nil, 200, 202); err != nil {
			return nil, err
		}
		return r.withReview(s), r.syncDone(s, store.SyncCompleted)
	}},
	{"sync-reject", func(r *rec) ([]string, error) {
		s, err := r.stagedSync(30, 5)
		if err != nil {
			return nil, err
		}
		if err := r.expect("POST", "/v1/syncs/"+s.ID+"/reject-deletions", nil, nil, 200, 202); err != nil {
			return nil, err
		}
		return r.withReview(s), r.syncDone(s, store.SyncCompleted)
	}},
	{"sync-expiry", func(r *rec) ([]string, error) {
		prev := syncstart.Default
		syncstart.Default.DecisionWindow = 3 * time.Second
		defer func() { syncstart.Default = prev }()
		s, err := r.stagedSync(30, 5)
		if err != nil {
			return nil, err
		}
		if err := r.syncDone(s, store.SyncCompleted); err != nil {
			return nil, err
		}
		return r.withReview(s), r.waitClosed(workflows.ReviewWorkflowID(s.ID))
	}},
	{"sync-awaiting-decision", func(r *rec) ([]string, error) {
		// Still running: staged deletions waiting for the admin.
		s, err := r.stagedSync(30, 5)
		time.Sleep(time.Second)
		return r.withReview(s), err
	}},
	{"sync-decision-race", func(r *rec) ([]string, error) {
		// Approve and reject at once: one taken, one refused.
		s, err := r.stagedSync(30, 5)
		if err != nil {
			return nil, err
		}
		codes := make(chan int, 2)
		for _, d := range []string{"approve-deletions", "reject-deletions"} {
			go func() {
				code, _, _ := r.call("POST", "/v1/syncs/"+s.ID+"/"+d, nil)
				codes <- code
			}()
		}
		if a, b := <-codes, <-codes; a+b != 200+409 {
			return nil, fmt.Errorf("racing decisions answered %d and %d", a, b)
		}
		return r.withReview(s), r.syncDone(s, store.SyncCompleted)
	}},
	{"sync-schema-mismatch", func(r *rec) ([]string, error) {
		if _, err := r.airtableBase(10); err != nil {
			return nil, err
		}
		if err := r.emu.RenameField(r.base, "Leads", airtableemu.FieldSMSStop, "Opted Out"); err != nil {
			return nil, err
		}
		s, err := r.startSync()
		if err != nil {
			return nil, err
		}
		return []string{s.WorkflowID}, r.syncDone(s, store.SyncFailed)
	}},
	{"campaign-cancel-enrolling", func(r *rec) ([]string, error) {
		if err := r.seedLeads(60000, "t"); err != nil {
			return nil, err
		}
		c, err := r.createCampaign("cancel while enrolling", map[string]any{"messages": laterStep(60)})
		if err != nil {
			return nil, err
		}
		if _, err := r.waitCampaign(c.ID, campaign.StatusEnrolling, campaign.StatusActive); err != nil {
			return nil, err
		}
		code, body, err := r.call("POST", "/v1/campaigns/"+c.ID+"/cancel", nil)
		if err != nil || (code != 200 && code != 409) {
			return nil, fmt.Errorf("cancel: %d %s %v", code, body, err)
		}
		if code == 409 { // enrollment won: the campaign is sending, cancel that
			if err := r.steer(c, "cancel", nil); err != nil {
				return nil, err
			}
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCancelled)
	}},
	{"campaign-refused-updates", func(r *rec) ([]string, error) {
		// Refused Updates leave no trace; the accepted one after them does.
		c, err := r.createCampaign("refusals", map[string]any{"start_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)})
		if err != nil {
			return nil, err
		}
		if _, err := r.waitCampaign(c.ID, campaign.StatusScheduled); err != nil {
			return nil, err
		}
		if code, _, err := r.call("POST", "/v1/campaigns/"+c.ID+"/retry-activation", nil); err != nil || code != 409 {
			return nil, fmt.Errorf("retry while scheduled: %d %v", code, err)
		}
		if err := r.steer(c, "reschedule", map[string]any{"start_at": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339Nano)}); err != nil {
			return nil, err
		}
		if err := r.steer(c, "cancel", nil); err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCancelled)
	}},
	{"sync-truncated", func(r *rec) ([]string, error) {
		if _, err := r.airtableBase(30); err != nil {
			return nil, err
		}
		first, err := r.startSync()
		if err != nil {
			return nil, err
		}
		if err := r.syncDone(first, store.SyncCompleted); err != nil {
			return nil, err
		}
		if err := r.emu.SetFaults(r.base, airtableemu.Faults{Truncate: &airtableemu.TruncateFault{AfterRecords: 10}}); err != nil {
			return nil, err
		}
		s, err := r.startSync()
		if err != nil {
			return nil, err
		}
		return []string{s.WorkflowID}, r.syncDone(s, store.SyncFailed)
	}},
	// Issue 12: the incremental path (webhook payloads) of AirtableSync.
	{"incremental-apply", func(r *rec) ([]string, error) {
		ids, wf, err := r.incrementalClient(30)
		if err != nil {
			return nil, err
		}
		since := time.Now()
		if err := r.emu.UpdateRecords(r.base, "Leads", []airtableemu.Record{{ID: ids[1], Fields: map[string]any{airtableemu.FieldFirstName: "Changed"}}}); err != nil {
			return nil, err
		}
		return []string{wf}, r.incrementalDone(since, wf, store.SyncCompleted)
	}},
	{"incremental-destroy", func(r *rec) ([]string, error) {
		ids, wf, err := r.incrementalClient(30)
		if err != nil {
			return nil, err
		}
		since := time.Now()
		if _, err := r.emu.DeleteRecords(r.base, "Leads", ids[:3]...); err != nil {
			return nil, err
		}
		if err := r.incrementalDone(since, wf, store.SyncAwaitingDecision); err != nil {
			return nil, err
		}
		var id string
		if err := r.db.Pool.QueryRow(r.ctx, `SELECT id FROM sync_runs WHERE client_id = $1 AND staged_count > 0`, r.client).Scan(&id); err != nil {
			return nil, err
		}
		if err := r.expect("POST", "/v1/syncs/"+id+"/reject-deletions", nil, nil, 200); err != nil {
			return nil, err
		}
		s := syncRef{ID: id, WorkflowID: wf}
		if err := r.waitSync(id, store.SyncCompleted); err != nil {
			return nil, err
		}
		return r.withReview(s), r.waitClosed(workflows.ReviewWorkflowID(id))
	}},
	// EnsureAirtableWebhook registering a new webhook (and starting the
	// listing that covers the time without one).
	{"webhook-register", func(r *rec) ([]string, error) {
		if _, _, err := r.incrementalClient(10); err != nil {
			return nil, err
		}
		return []string{workflows.WebhookWorkflowID(r.client.String())}, nil
	}},
	{"incremental-fallback", func(r *rec) ([]string, error) {
		ids, wf, err := r.incrementalClient(30)
		if err != nil {
			return nil, err
		}
		hook, err := r.st.GetAirtableWebhook(r.ctx, r.client)
		if err != nil {
			return nil, err
		}
		since := time.Now()
		if err := r.emu.DropNotifications(r.base, hook.WebhookID, 1); err != nil {
			return nil, err
		}
		if err := r.emu.UpdateRecords(r.base, "Leads", []airtableemu.Record{{ID: ids[1], Fields: map[string]any{airtableemu.FieldFirstName: "Lost"}}}); err != nil {
			return nil, err
		}
		time.Sleep(300 * time.Millisecond)
		if err := r.emu.ExpireWebhookCursor(r.base, hook.WebhookID); err != nil {
			return nil, err
		}
		if err := r.emu.UpdateRecords(r.base, "Leads", []airtableemu.Record{{ID: ids[2], Fields: map[string]any{airtableemu.FieldFirstName: "After"}}}); err != nil {
			return nil, err
		}
		return []string{wf}, r.incrementalDone(since, wf, store.SyncCompleted)
	}},
	{"sync-webhook-rerun", func(r *rec) ([]string, error) {
		if _, err := r.airtableBase(300); err != nil {
			return nil, err
		}
		if err := r.emu.SetFaults(r.base, airtableemu.Faults{Latency: 400 * time.Millisecond}); err != nil {
			return nil, err
		}
		s, err := r.startSync()
		if err != nil {
			return nil, err
		}
		time.Sleep(300 * time.Millisecond)
		if err := r.webhook(); err != nil {
			return nil, err
		}
		if err := r.waitSync(s.ID, store.SyncCompleted); err != nil {
			return nil, err
		}
		if err := r.emu.SetFaults(r.base, airtableemu.Faults{}); err != nil {
			return nil, err
		}
		return []string{s.WorkflowID}, r.waitClosed(s.WorkflowID)
	}},
	{"scheduled-sync", func(r *rec) ([]string, error) {
		if _, err := r.airtableBase(10); err != nil {
			return nil, err
		}
		id := "scheduled-sync-" + r.client.String()
		run, err := r.tc.ExecuteWorkflow(r.ctx, startOpts(id), workflows.ScheduledSync, r.client.String())
		if err != nil {
			return nil, err
		}
		var syncID string
		if err := run.Get(r.ctx, &syncID); err != nil {
			return nil, err
		}
		if err := r.waitSync(syncID, store.SyncCompleted); err != nil {
			return nil, err
		}
		return []string{id, workflows.SyncWorkflowID(r.client.String())}, r.waitClosed(workflows.SyncWorkflowID(r.client.String()))
	}},
	{"campaign-waiting-step", func(r *rec) ([]string, error) {
		// Still running: the first step sent, the second due in an hour.
		c, err := r.sendingCampaign("waits for its second step", 60)
		return []string{c.WorkflowID}, err
	}},
	{"campaign-paused", func(r *rec) ([]string, error) {
		// Still running: paused while it waits for the second step.
		c, err := r.sendingCampaign("paused", 60)
		if err != nil {
			return nil, err
		}
		if err := r.steer(c, "pause", nil); err != nil {
			return nil, err
		}
		_, err = r.waitCampaign(c.ID, campaign.StatusPaused)
		return []string{c.WorkflowID}, err
	}},
	{"campaign-cancel-sending", func(r *rec) ([]string, error) {
		c, err := r.sendingCampaign("cancelled while sending", 60)
		if err != nil {
			return nil, err
		}
		if err := r.steer(c, "cancel", nil); err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCancelled)
	}},
	{"campaign-pause-resume", func(r *rec) ([]string, error) {
		// Paused on the timer to the second step, resumed, completed (the
		// second step falls due a minute after the first).
		c, err := r.sendingCampaign("paused and resumed", 1)
		if err != nil {
			return nil, err
		}
		if err := r.steer(c, "pause", nil); err != nil {
			return nil, err
		}
		if err := r.steer(c, "resume", nil); err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"campaign-pause-mid-round", func(r *rec) ([]string, error) {
		// Paused while a round's sends are in flight (the provider answers
		// slowly): the answer waits for the round; resumed; completed.
		if err := r.seedLeads(6, "t"); err != nil {
			return nil, err
		}
		if err := r.sms.SetFaults(smsemu.Faults{Latency: 1500 * time.Millisecond}); err != nil {
			return nil, err
		}
		defer r.sms.ClearFaults()
		c, err := r.createCampaign("paused mid-round", nil)
		if err != nil {
			return nil, err
		}
		if err := waitFor("a send in flight", func() (bool, error) {
			var n int
			err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM sms_sends WHERE campaign_id = $1`, c.ID).Scan(&n)
			return n > 0, err
		}); err != nil {
			return nil, err
		}
		if err := r.steer(c, "pause", nil); err != nil {
			return nil, err
		}
		r.sms.ClearFaults()
		if err := r.steer(c, "resume", nil); err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"campaign-stop-reply", func(r *rec) ([]string, error) {
		// One lead texts STOP, another replies, after the first step: both
		// leave the sequence; the rest get the second step a minute later.
		// The client's own number: the other scenarios' leads share phones.
		const own = "+15550100999"
		if _, err := r.db.Pool.Exec(r.ctx, `UPDATE clients SET sms_from = $2 WHERE id = $1`, r.client, own); err != nil {
			return nil, err
		}
		c, err := r.sendingCampaign("stop and reply", 1)
		if err != nil {
			return nil, err
		}
		for i, body := range []string{"STOP", "sounds good"} {
			if err := r.inbound(fmt.Sprintf("+1555%07d", i+1), own, body); err != nil {
				return nil, err
			}
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"campaign-continue-as-new", func(r *rec) ([]string, error) {
		// A campaign whose workflow continues as new between send rounds
		// (one round per run here; 300 in production).
		if err := r.seedLeads(5, "t"); err != nil {
			return nil, err
		}
		c, err := r.insertCampaign("continues as new", 1)
		if err != nil {
			return nil, err
		}
		if _, err := r.tc.ExecuteWorkflow(r.ctx, startOpts(c.WorkflowID), workflows.Campaign,
			workflows.CampaignInput{CampaignID: c.ID, ClientID: r.client.String(), MaxSendRounds: 1}); err != nil {
			return nil, err
		}
		return []string{c.WorkflowID}, r.settle(c, campaign.StatusCompleted)
	}},
	{"draft-fallback", func(r *rec) ([]string, error) {
		var res struct {
			RequestID string `json:"request_id"`
			Step      string `json:"step"`
		}
		if err := r.expect("POST", "/v1/messages/generate", map[string]any{"client_id": r.client.String(),
			"campaign_name": "Spring", "target_audience": "patients overdue for a cleaning", "goal": "book a cleaning",
			"booking_link": "https://calendly.com/acme/checkup", "tone": "friendly"}, &res, 200); err != nil {
			return nil, err
		}
		if res.Step != "fallback" || res.RequestID == "" {
			return nil, fmt.Errorf("draft answered by %q (request %q), want the fallback", res.Step, res.RequestID)
		}
		return []string{workflows.DraftWorkflowID(res.RequestID)}, nil
	}},
}

// laterStep is the default sequence with its second step minutes after the first.
func laterStep(minutes int) []map[string]any {
	return []map[string]any{{"body": "Hi {{first_name}}, book a visit: https://calendly.com/acme", "delay_minutes": 0},
		{"body": "Still interested? Reply to book.", "delay_minutes": minutes}}
}

// sendingCampaign creates a campaign over 5 leads whose second step falls
// due `minutes` after the first, and waits until every first step is sent.
func (r *rec) sendingCampaign(name string, minutes int) (campaignRef, error) {
	if err := r.seedLeads(5, "t"); err != nil {
		return campaignRef{}, err
	}
	c, err := r.createCampaign(name, map[string]any{"messages": laterStep(minutes)})
	if err != nil {
		return c, err
	}
	err = waitFor("first steps sent", func() (bool, error) {
		var n int
		err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM sms_sends WHERE campaign_id = $1 AND status = 'sent'`, c.ID).Scan(&n)
		return n == 5, err
	})
	time.Sleep(time.Second) // let the workflow start its timer
	return c, err
}

// insertCampaign writes an activating campaign row (as the API does) for a
// workflow the scenario starts itself, with the second step `minutes` later.
func (r *rec) insertCampaign(name string, minutes int) (campaignRef, error) {
	id := uuid.New()
	nc := store.NewCampaign{ID: id, ClientID: r.client, Name: name, Audience: campaign.Audience{TargetTags: []string{"t"}},
		Messages: []campaign.Step{{Body: "Hi {{first_name}}"}, {Body: "Still interested?", DelayMinutes: minutes}},
		Status:   campaign.StatusActivating, WorkflowID: workflows.CampaignWorkflowID(id.String()), StopOnReply: true}
	err := pgx.BeginFunc(r.ctx, r.db.Pool, func(tx pgx.Tx) error { _, err := store.InsertCampaign(r.ctx, tx, nc); return err })
	return campaignRef{ID: id.String(), WorkflowID: nc.WorkflowID, Status: nc.Status}, err
}

// inbound has the emulator deliver a text from a lead's phone to a
// client's number (signed, to the API's inbound webhook).
func (r *rec) inbound(from, to, body string) error {
	res, err := r.sms.Inbound(r.ctx, smsemu.Inbound{From: from, To: to, Body: body})
	if err == nil && res.Status != http.StatusOK {
		err = fmt.Errorf("inbound %q: the webhook answered %d %s", body, res.Status, res.Body)
	}
	return err
}

// steer posts a campaign action and expects it accepted.
func (r *rec) steer(c campaignRef, action string, body any) error {
	return r.expect("POST", "/v1/campaigns/"+c.ID+"/"+action, body, nil, 200, 202)
}

// withReview names the sync's workflow and its DeletionReview's.
func (r *rec) withReview(s syncRef) []string {
	return []string{s.WorkflowID, workflows.ReviewWorkflowID(s.ID)}
}

// settle waits for the campaign's status and for its workflow to end.
func (r *rec) settle(c campaignRef, status ...string) error {
	if _, err := r.waitCampaign(c.ID, status...); err != nil {
		return err
	}
	return r.waitClosed(c.WorkflowID)
}

// syncDone waits for the run's phase and for the sync workflow to end.
func (r *rec) syncDone(s syncRef, phase string) error {
	if err := r.waitSync(s.ID, phase); err != nil {
		return err
	}
	return r.waitClosed(s.WorkflowID)
}

// webhook sends an Airtable ping signed with the client's secret.
func (r *rec) webhook() error {
	cl, err := r.st.GetClient(r.ctx, r.client)
	if err != nil {
		return err
	}
	body := []byte(`{"base":{"id":"` + r.base + `"}}`)
	m := hmac.New(sha256.New, []byte(cl.WebhookSecret))
	m.Write(body)
	req, err := http.NewRequestWithContext(r.ctx, "POST", r.api+"/v1/webhooks/airtable/"+r.client.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Airtable-Content-MAC", "hmac-sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 202 {
		raw, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("webhook: %d %s", resp.StatusCode, raw)
	}
	return nil
}

func startOpts(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: "histories"}
}

// incrementalClient gives the scenario's client a base of n leads, imported,
// and a registered webhook (whose first full listing has ended).
func (r *rec) incrementalClient(n int) ([]string, string, error) {
	ids, err := r.airtableBase(n)
	if err != nil {
		return nil, "", err
	}
	res, err := syncstart.RegisterWebhook(r.ctx, r.tc, "histories", r.client.String())
	if err != nil {
		return nil, "", err
	}
	_ = r.tc.ScheduleClient().GetHandle(r.ctx, workflows.WebhookScheduleID(r.client.String())).Delete(r.ctx)
	wf := workflows.SyncWorkflowID(r.client.String())
	if err := r.syncDone(syncRef{ID: res.SyncID, WorkflowID: wf}, store.SyncCompleted); err != nil {
		return nil, "", err
	}
	return ids, wf, nil
}

// incrementalDone waits for a run started since then to reach the phase
// (with every run of the client finished but a review) and the workflow to end.
func (r *rec) incrementalDone(since time.Time, wf, phase string) error {
	if err := waitFor("incremental run "+phase, func() (bool, error) {
		var ok bool
		err := r.db.Pool.QueryRow(r.ctx, `SELECT EXISTS (SELECT 1 FROM sync_runs WHERE client_id = $1 AND started_at >= $2 AND mode = 'incremental' AND phase = $3)
			AND NOT EXISTS (SELECT 1 FROM sync_runs WHERE client_id = $1 AND finished_at IS NULL AND phase NOT IN ('awaiting_decision'))`,
			r.client, since, phase).Scan(&ok)
		return ok, err
	}); err != nil {
		return err
	}
	return r.waitClosed(wf)
}
