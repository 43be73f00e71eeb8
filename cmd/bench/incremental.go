package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/workflows"
)

type incrConfig struct{ records, changed int }

var incrCfg incrConfig

// incrementalBench: a client whose n-record base is already imported and
// whose webhook is registered; `changed` records change in the emulator
// (one transaction, as an Airtable user's bulk edit) and the clock runs
// until the last lead shows the change in Postgres, through the real path:
// the emulator's signed notification to the API, update-with-start of the
// client's AirtableSync (incremental), ApplyPayloads at Airtable's 5
// requests/s. The floor is the emulator's payloads call alone.
func (e *env) incrementalBench(ctx context.Context, tc client.Client, n, changed int) error {
	emu := airtableemu.New(airtableemu.Options{RateLimit: airtableemu.DefaultRateLimit, Penalty: 30 * time.Second})
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()
	const queue = "bench-sync-incremental"
	apiSrv := httptest.NewServer(api.Router(api.Deps{Store: e.st, Temporal: tc, Logger: zap.NewNop(), TaskQueue: queue}))
	defer apiSrv.Close()
	syncer := &activities.Sync{Store: e.st, Log: zap.NewNop(), APIKey: "bench", BaseURL: emuSrv.URL + "/v0",
		RatePerSecond: airtableemu.DefaultRateLimit, Penalty: 30 * time.Second, PublicBaseURL: apiSrv.URL}
	w := worker.New(tc, queue, worker.Options{})
	workflows.Register(w, &activities.Campaign{Store: e.st, Log: zap.NewNop()},
		&activities.Alerts{Store: e.st, Sinks: []activities.AlertSink{activities.LogSink{Log: zap.NewNop()}}}, &activities.Draft{Store: e.st}, syncer)
	w.RegisterActivity(&syncstart.Trigger{Store: e.st, Temporal: tc, TaskQueue: queue})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	base := "appBenchIncr00001"
	if _, err := emu.CreateBase(base, "bench", airtableemu.LeadsSpec()); err != nil {
		return err
	}
	fields := make([]map[string]any, n)
	for i := range fields {
		fields[i] = map[string]any{
			airtableemu.FieldFirstName: fmt.Sprintf("Lead%d", i), airtableemu.FieldPhone: fmt.Sprintf("+1555%07d", i),
			airtableemu.FieldEmail: fmt.Sprintf("l%d@example.com", i), airtableemu.FieldTags: []any{"webinar", "vip"},
			airtableemu.FieldICPScore: float64(i % 101), airtableemu.FieldEngagement: "high", airtableemu.FieldStatus: "new",
			airtableemu.FieldTimezone: "America/New_York",
		}
	}
	ids, err := emu.SeedFields(base, "Leads", fields)
	if err != nil {
		return err
	}
	cl, err := e.st.CreateClient(ctx, store.NewClient{Name: "sync-incremental-bench", Timezone: "UTC", AirtableBaseID: base, AirtableTable: "Leads"}, "bench")
	if err != nil {
		return err
	}
	// The base is already imported (the full listing is the sync figure):
	// the same upsert, straight from the seeded values.
	first := uuid.New()
	if err := e.st.CreateSyncRun(ctx, first, cl.ID, workflows.SyncWorkflowID(cl.ID.String())); err != nil {
		return err
	}
	for lo := 0; lo < n; lo += 1000 {
		var recs []store.LeadRecord
		for i := lo; i < min(lo+1000, n); i++ {
			score := i % 101
			recs = append(recs, store.LeadRecord{RecordID: ids[i], FirstName: fmt.Sprintf("Lead%d", i), Phone: fmt.Sprintf("+1555%07d", i),
				Email: fmt.Sprintf("l%d@example.com", i), Timezone: "America/New_York", Tags: []string{"webinar", "vip"}, ICPScore: &score,
				EngagementLevel: "high", Status: "new", CreatedAt: time.Now()})
		}
		if err := e.st.UpsertLeadPage(ctx, first, cl.ID, recs, nil); err != nil {
			return err
		}
	}
	if err := e.st.UpdateSyncRun(ctx, first, store.SyncUpdate{Phase: store.SyncCompleted, Finished: true}); err != nil {
		return err
	}
	// The client's Tasks table, already imported (the task sync's merge).
	const nTasks, changedTasks = 1000, 10
	if err := emu.CreateTable(base, airtableemu.TasksSpec()); err != nil {
		return err
	}
	taskFields := make([]map[string]any, nTasks)
	for i := range taskFields {
		taskFields[i] = map[string]any{airtableemu.TaskFieldTitle: fmt.Sprintf("Task %d", i), airtableemu.TaskFieldStatus: "todo"}
	}
	taskIDs, err := emu.SeedFields(base, airtableemu.TasksTable, taskFields)
	if err != nil {
		return err
	}
	trs := make([]activities.TaskRecord, nTasks)
	for i := range trs {
		trs[i] = activities.TaskRecord{ID: taskIDs[i], Fields: taskFields[i]}
	}
	if pulled, err := syncer.ApplyRemoteTasks(ctx, activities.ApplyTasksInput{ClientID: cl.ID.String(), Records: trs}); err != nil || pulled.Created != nTasks {
		return fmt.Errorf("import tasks: %+v %v", pulled, err)
	}
	// Register the webhook (the activity itself: the registration
	// workflow would also start a 100 s full listing).
	if _, err := syncer.EnsureWebhook(ctx, activities.EnsureWebhookInput{ClientID: cl.ID.String()}); err != nil {
		return fmt.Errorf("register webhook: %w", err)
	}
	time.Sleep(time.Second) // the registration's requests leave the base's rate window
	emu.ResetStats()

	recs := make([]airtableemu.Record, changed)
	changedIDs := make([]string, changed)
	for i := range recs {
		j := i * (n / changed)
		changedIDs[i] = ids[j]
		recs[i] = airtableemu.Record{ID: ids[j], Fields: map[string]any{airtableemu.FieldFirstName: fmt.Sprintf("Changed%d", j)}}
	}
	start := time.Now()
	if err := emu.UpdateRecords(base, "Leads", recs); err != nil {
		return err
	}
	deadline := start.Add(2 * time.Minute)
	for {
		var done int
		if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE client_id = $1 AND airtable_record_id = ANY($2) AND first_name LIKE 'Changed%'`,
			cl.ID, changedIDs).Scan(&done); err != nil {
			return err
		}
		if done == changed {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d changes reached the leads", done, changed)
		}
		time.Sleep(5 * time.Millisecond)
	}
	secs := time.Since(start).Seconds()
	reqs := emu.Stats().Bases[base].Requests
	fmt.Printf("sync_incremental: base_records=%d changed=%d seconds=%.2f airtable_requests=%d\n", n, changed, secs, reqs)

	// Tasks edited in Airtable reach the tasks through the same webhook.
	time.Sleep(time.Second)
	emu.ResetStats()
	trecs := make([]airtableemu.Record, changedTasks)
	tchanged := make([]string, changedTasks)
	for i := range trecs {
		j := i * (nTasks / changedTasks)
		tchanged[i] = taskIDs[j]
		trecs[i] = airtableemu.Record{ID: taskIDs[j], Fields: map[string]any{airtableemu.TaskFieldStatus: "done"}}
	}
	start = time.Now()
	if err := emu.UpdateRecords(base, airtableemu.TasksTable, trecs); err != nil {
		return err
	}
	deadline = start.Add(2 * time.Minute)
	for {
		var done int
		if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE client_id = $1 AND airtable_record_id = ANY($2) AND status = 'done' AND sync_state = 'synced'`,
			cl.ID, tchanged).Scan(&done); err != nil {
			return err
		}
		if done == changedTasks {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d task changes reached the tasks", done, changedTasks)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Printf("sync_incremental_tasks: tasks=%d changed=%d seconds=%.2f airtable_requests=%d (task listing at 5 req/s: %d requests, %.0f s)\n",
		nTasks, changedTasks, time.Since(start).Seconds(), emu.Stats().Bases[base].Requests, (nTasks+99)/100, float64((nTasks+99)/100)/5)

	// Floor: the payloads call alone (after the rate window), from the start.
	hook, err := e.st.GetAirtableWebhook(ctx, cl.ID)
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, emuSrv.URL+"/v0/bases/"+base+"/webhooks/"+hook.WebhookID+"/payloads?cursor=1", nil)
	req.Header.Set("Authorization", "Bearer bench")
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	fmt.Printf("sync_incremental_floor: payloads_call_seconds=%.3f airtable_requests=1 status=%d (full listing at 5 req/s: %d requests, %.0f s)\n",
		time.Since(t0).Seconds(), resp.StatusCode, (n+99)/100, float64((n+99)/100)/5)
	return nil
}
