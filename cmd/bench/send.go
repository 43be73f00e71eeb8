package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	"go.temporal.io/sdk/client"

	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/internal/testenv"
	"github.com/nurture-sms/nurture/internal/twilioapi"
	"github.com/nurture-sms/nurture/workflows"
)

// sendFigure is one send line's set-up.
type sendFigure struct {
	leads int
	steps int           // 1, or 2 with the second step a minute after the first's send
	rate  float64       // messages per second per number (0: off)
	what  string        // flood, step2, rated
	delay time.Duration // of step 2
}

// sendBench sends campaigns through a real worker process and the SMS
// emulator (in this process, callbacks off) and prints one send line per
// figure: the throughput with the rate off (flood: every message due at
// activation), the due-to-sent lateness when due times are spread by the
// sending itself (step 2, due a minute after each step 1), and a
// configured rate. Each is compared with the emulator alone (the same
// client, the same concurrency, no Nurture) measured in the same run.
func (e *env) sendBench(ctx context.Context, hostPort string, flood, rated int, rate float64) error {
	emu := smsemu.New(smsemu.Options{NoCallbacks: true})
	defer emu.Close()
	es := httptest.NewServer(emu.Handler())
	defer es.Close()
	floor, err := emulatorAlone(emu, es.URL, 20000, 32)
	if err != nil {
		return fmt.Errorf("emulator alone: %w", err)
	}
	for _, f := range []sendFigure{
		{leads: flood, steps: 1, what: "flood"},
		{leads: rated, steps: 2, delay: time.Minute, what: "step2"},
		{leads: rated, steps: 1, rate: rate, what: "rated"},
	} {
		if f.leads == 0 {
			continue
		}
		if err := e.sendFigure(ctx, hostPort, emu, es.URL, f, floor); err != nil {
			return fmt.Errorf("%s: %w", f.what, err)
		}
	}
	return nil
}

func (e *env) sendFigure(ctx context.Context, hostPort string, emu *smsemu.Emulator, emuURL string, f sendFigure, floor float64) error {
	emu.Reset()
	// A zone where it is daytime: every lead is inside its window.
	zone, err := testenv.DayZone(time.Now())
	if err != nil {
		return err
	}
	from := fmt.Sprintf("+1555%07d", time.Now().UnixNano()%10000000)
	cl, err := e.st.CreateClient(ctx, store.NewClient{Name: "send-bench-" + f.what + "-" + uuid.NewString()[:8], Timezone: zone,
		AirtableTable: "Leads", SMSFrom: from, MaxPerDay: 10}, "bench")
	if err != nil {
		return err
	}
	tag := "send-" + f.what
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, first_name, phone, timezone, tags)
		SELECT $1::uuid, 'rec' || md5($1::text || g::text), 'Lead' || g, '+1' || (2000000000 + g)::text, $3, ARRAY[$4]
		FROM generate_series(1, $2) g`, cl.ID, f.leads, zone, tag); err != nil {
		return err
	}
	if _, err := e.db.Pool.Exec(ctx, `ANALYZE leads`); err != nil {
		return err
	}
	queue := "bench-send-" + f.what
	rate := strconv.FormatFloat(f.rate, 'f', -1, 64)
	w := exec.Command(filepath.Join(testenv.RepoRoot(), "bin", "worker"))
	w.Env = append(os.Environ(), "DATABASE_URL="+e.db.URL, "TEMPORAL_ADDRESS="+hostPort, "TEMPORAL_TASK_QUEUE="+queue,
		"WORKER_METRICS_ADDR=127.0.0.1:0", "LOG_LEVEL=error", "TWILIO_BASE_URL="+emuURL,
		"TWILIO_ACCOUNT_SID="+emu.AccountSID(), "TWILIO_AUTH_TOKEN="+emu.AuthToken(), "SMS_RATE_PER_NUMBER="+rate,
		"PUBLIC_BASE_URL=http://127.0.0.1:9") // callbacks are off in the emulator
	w.Stderr = os.Stderr
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker (make build first): %w", err)
	}
	defer func() { _ = w.Process.Signal(os.Interrupt); _ = w.Wait() }()
	id := uuid.New()
	msgs := []map[string]any{{"body": "Hi {{first_name}}, a message from the bench", "delay_minutes": 0}}
	if f.steps == 2 {
		msgs = append(msgs, map[string]any{"body": "Hi {{first_name}}, the bench's second step", "delay_minutes": int(f.delay.Minutes())})
	}
	raw, _ := json.Marshal(msgs)
	camp, err := insertCampaign(ctx, e, id, cl.ID, "send bench "+f.what, tag, raw)
	if err != nil {
		return err
	}
	start := time.Now()
	run, err := e.temporal.ExecuteWorkflow(ctx, startOptions(camp.WorkflowID, queue), workflows.Campaign,
		workflows.CampaignInput{CampaignID: id.String(), ClientID: cl.ID.String()})
	if err != nil {
		return err
	}
	// Done when every lead has every step (or the workflow ends).
	want := f.leads * f.steps
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, nil) }()
	deadline := time.Now().Add(time.Duration(want)*time.Second/50 + 10*time.Minute)
	var rss float64
	for {
		if emu.Count().Outbound >= want {
			break
		}
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("campaign workflow: %w", err)
			}
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d messages after %s", emu.Count().Outbound, want, time.Since(start))
		}
		rss = max(rss, peakRSSMB(w.Process.Pid))
		time.Sleep(50 * time.Millisecond)
	}
	rss = max(rss, peakRSSMB(w.Process.Pid))
	// Exactness, from the emulator: every (lead, step) once.
	per := map[[2]string]int{}
	var last time.Time
	for _, m := range emu.Messages(smsemu.Filter{From: from, Direction: "outbound-api"}) {
		per[[2]string{m.To, m.Body}]++
		if m.Created.After(last) {
			last = m.Created
		}
	}
	dups, distinct := 0, len(per)
	for _, n := range per {
		dups += n - 1
	}
	missing := want - distinct
	// Timing from the ledger: activation to the last send, and lateness.
	var activated time.Time
	if err := e.db.Pool.QueryRow(ctx, `SELECT activated_at FROM campaigns WHERE id = $1`, id).Scan(&activated); err != nil {
		return err
	}
	lateStep := 0
	if f.steps == 2 {
		lateStep = 1 // due a minute after each step 1: spread by the sending itself
	}
	var late []float64
	rows, err := e.db.Pool.Query(ctx, `SELECT extract(epoch FROM sending_at - due_at) * 1000 FROM sms_sends WHERE campaign_id = $1 AND step = $2`, id, lateStep)
	if err != nil {
		return err
	}
	for rows.Next() {
		var ms float64
		if err := rows.Scan(&ms); err != nil {
			return err
		}
		late = append(late, ms)
	}
	rows.Close()
	sort.Float64s(late)
	secs := last.Sub(activated).Seconds()
	if f.steps == 2 {
		// The second step's wave: its first due to its last send.
		var first, end time.Time
		if err := e.db.Pool.QueryRow(ctx, `SELECT min(due_at), max(sending_at) FROM sms_sends WHERE campaign_id = $1 AND step = 1`, id).Scan(&first, &end); err != nil {
			return err
		}
		secs = end.Sub(first).Seconds()
	}
	line := fmt.Sprintf("send: messages=%d steps=%d seconds=%.2f msgs_per_s=%.0f", want, f.steps, secs, float64(want)/last.Sub(activated).Seconds())
	if f.steps == 2 {
		line = fmt.Sprintf("send: messages=%d steps=2 step2_delay_s=%.0f step2_wave_s=%.2f", want, f.delay.Seconds(), secs)
	}
	switch {
	case f.rate > 0:
		floorS := float64(want) / f.rate
		line += fmt.Sprintf(" configured_rate=%.0f rate_floor_s=%.1f ratio_to_floor=%.3f", f.rate, floorS, secs/floorS)
	default:
		line += fmt.Sprintf(" configured_rate=off emulator_alone_msgs_per_s=%.0f", floor)
	}
	line += fmt.Sprintf(" duplicates=%d missing=%d lateness_basis=%s lateness_p50_ms=%.0f lateness_p99_ms=%.0f worker_rss_mb=%.0f",
		dups, missing, map[int]string{0: "step1_all_due_at_once", 1: "step2_due_spread"}[lateStep], pct(late, 0.5), pct(late, 0.99), rss)
	fmt.Println(line)
	// Stop the campaign: nothing of it may run into the next figure.
	_ = cancelCampaign(ctx, e, camp.WorkflowID)
	return nil
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return -1
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// emulatorAlone is the floor: the official client against the emulator,
// n messages from conc goroutines, no Nurture in between.
func emulatorAlone(emu *smsemu.Emulator, url string, n, conc int) (float64, error) {
	rc := twilioapi.New(twilioapi.Config{AccountSID: emu.AccountSID(), AuthToken: emu.AuthToken(), BaseURL: url})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := new(openapi.CreateMessageParams).SetTo(fmt.Sprintf("+1%d", 3000000000+i)).SetFrom("+15550109999").SetBody("floor")
				if _, err := rc.Api.CreateMessage(p); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	emu.Reset()
	return rate, firstErr
}

// insertCampaign writes a campaign row (immediate start) whose workflow the
// caller starts on its own queue.
func insertCampaign(ctx context.Context, e *env, id, clientID uuid.UUID, name, tag string, messages []byte) (store.Campaign, error) {
	var steps []campaign.Step
	if err := json.Unmarshal(messages, &steps); err != nil {
		return store.Campaign{}, err
	}
	nc := store.NewCampaign{ID: id, ClientID: clientID, Name: name, Audience: campaign.Audience{TargetTags: []string{tag}},
		Messages: steps, Status: campaign.StatusActivating, WorkflowID: workflows.CampaignWorkflowID(id.String()), StopOnReply: true}
	var c store.Campaign
	err := pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error {
		var err error
		c, err = store.InsertCampaign(ctx, tx, nc)
		return err
	})
	return c, err
}

func startOptions(id, queue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: queue}
}

// cancelCampaign stops a bench campaign through its workflow.
func cancelCampaign(ctx context.Context, e *env, workflowID string) error {
	var res workflows.SteerResult
	return temporalx.Update(ctx, e.temporal, workflowID, workflows.UpdateCancel, workflows.SteerRequest{Actor: "bench"}, &res)
}
