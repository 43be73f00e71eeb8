package main_test

import (
	"fmt"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

// The worker is killed with SIGKILL again and again while a campaign's
// messages go out, and restarted each time: the provider (the emulator)
// holds each (lead, step) at most once, and at the end every (lead, step)
// is sent, or accounted for as unknown.
func TestWorkerSIGKILLWhileSending(t *testing.T) {
	const n, kills = 3000, 3
	s := newStack(t)
	ctx, dbase, srv := s.ctx, s.db, s.srv
	emu := smsemu.New(smsemu.Options{NoCallbacks: true})
	defer emu.Close()
	es := httptest.NewServer(emu.Handler())
	defer es.Close()

	st := store.New(dbase.Pool)
	zone := dayZone(t)
	cl, err := st.CreateClient(ctx, store.NewClient{Name: "crash-send", Timezone: zone, AirtableTable: "Leads", MaxPerDay: 10}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dbase.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, first_name, phone, timezone, tags)
		SELECT $1::uuid, 'rec' || g, 'L' || g, '+1' || (4000000000 + g)::text, $3, ARRAY['all'] FROM generate_series(1, $2) g`, cl.ID, n, zone); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	nc := store.NewCampaign{ID: id, ClientID: cl.ID, Name: "crash-send", Audience: campaign.Audience{TargetTags: []string{"all"}},
		Messages: []campaign.Step{{Body: "one {{first_name}}"}, {Body: "two {{first_name}}"}}, Status: campaign.StatusActivating,
		WorkflowID: workflows.CampaignWorkflowID(id.String()), StopOnReply: true}
	if err := pgx.BeginFunc(ctx, dbase.Pool, func(tx pgx.Tx) error { _, err := store.InsertCampaign(ctx, tx, nc); return err }); err != nil {
		t.Fatal(err)
	}
	const queue = "crash-send"
	start := func() *exec.Cmd {
		return s.worker(queue, "TWILIO_BASE_URL="+es.URL, "TWILIO_ACCOUNT_SID="+emu.AccountSID(), "TWILIO_AUTH_TOKEN="+emu.AuthToken(),
			"TWILIO_TIMEOUT=2s", "SMS_RATE_PER_NUMBER="+strconv.Itoa(600), "PUBLIC_BASE_URL=http://127.0.0.1:9")
	}
	run, err := srv.Client().ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: nc.WorkflowID, TaskQueue: queue}, workflows.Campaign,
		workflows.CampaignInput{CampaignID: id.String(), ClientID: cl.ID.String(), SendHeartbeat: 2 * time.Second, SendBudget: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := start()
	for k := 1; k <= kills; k++ {
		threshold := k * 2 * n / (kills + 1)
		for emu.Count().Outbound < threshold {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %d messages (have %d)", threshold, emu.Count().Outbound)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := w.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = w.Wait()
		t.Logf("SIGKILL %d at %d messages", k, emu.Count().Outbound)
		w = start()
	}
	defer func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() }()
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	per := map[string]int{}
	for _, m := range emu.Messages(smsemu.Filter{Direction: "outbound-api"}) {
		per[m.To+"|"+m.Body]++
	}
	for k, c := range per {
		if c > 1 {
			t.Fatalf("%s sent %d times", k, c)
		}
	}
	var sent, unknown, other int
	if err := dbase.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered')), count(*) FILTER (WHERE status = 'unknown'),
		count(*) FILTER (WHERE status NOT IN ('sent', 'delivered', 'unknown')) FROM sms_sends WHERE campaign_id = $1`, id).Scan(&sent, &unknown, &other); err != nil {
		t.Fatal(err)
	}
	if sent+unknown != 2*n || other != 0 || len(per) != sent {
		t.Fatal(fmt.Sprintf("ledger: %d sent, %d unknown, %d other; the provider holds %d distinct (want %d (lead, step) in all)", sent, unknown, other, len(per), 2*n))
	}
	var status string
	if err := dbase.Pool.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1`, id).Scan(&status); err != nil || status != campaign.StatusCompleted {
		t.Fatalf("campaign %s %v", status, err)
	}
	t.Logf("%d sent, %d unknown", sent, unknown)
}

// dayZone is an Etc/GMT zone where it is daytime now (inside the window).
func dayZone(t *testing.T) string {
	t.Helper()
	for off := -12; off <= 14; off++ {
		name := "Etc/GMT"
		if off > 0 {
			name += "-" + strconv.Itoa(off)
		} else if off < 0 {
			name += "+" + strconv.Itoa(-off)
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		if h := time.Now().In(loc).Hour(); h >= 10 && h < 18 {
			return name
		}
	}
	t.Fatal("no daytime zone")
	return ""
}
