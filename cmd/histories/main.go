// Command histories records the event histories of Nurture's workflows, as
// they run against a real Temporal dev server, Postgres and the Airtable
// emulator, into workflows/testdata/histories/. The replay test
// (workflows/replay_test.go) replays every recorded history with the current
// workflow code, so a change that would break a running workflow fails
// `make test`.
//
// Recorded histories are never overwritten: they stand for workflows that are
// running somewhere. When workflow code changes (behind workflow.GetVersion),
// record the new paths under a new prefix:
//
//	go run ./cmd/histories -prefix v1 [-only campaign-cancel-scheduled,...]
//
// Each scenario drives the system as a user would (the HTTP API, the
// emulator) and writes one file per workflow run: PREFIX-SCENARIO[-runN].json
// (protojson of the history, the format of `temporal workflow show -o json`).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/internal/testenv"
	"github.com/nurture-sms/nurture/internal/twilioapi"
	"github.com/nurture-sms/nurture/workflows"
)

func main() {
	prefix := flag.String("prefix", "", "file name prefix naming the workflow code version, e.g. v1 (required)")
	only := flag.String("only", "", "comma-separated scenarios to record (default: all)")
	out := flag.String("out", filepath.Join(testenv.RepoRoot(), "workflows", "testdata", "histories"), "output directory")
	list := flag.Bool("list", false, "list the scenarios and exit")
	flag.Parse()
	if *list {
		for _, s := range scenarios {
			fmt.Println(s.name)
		}
		return
	}
	if *prefix == "" {
		fmt.Fprintln(os.Stderr, "histories: -prefix is required (e.g. -prefix v1)")
		os.Exit(2)
	}
	if err := run(*prefix, *only, *out); err != nil {
		fmt.Fprintln(os.Stderr, "histories:", err)
		os.Exit(1)
	}
}

// rec is what a scenario drives.
type rec struct {
	ctx    context.Context
	db     *testenv.Database
	st     *store.Store
	tc     client.Client
	emu    *airtableemu.Emulator
	sms    *smsemu.Emulator
	api    string
	token  string
	client uuid.UUID
	base   string
	emuURL string
}

type scenario struct {
	name string
	// run drives the scenario and returns the workflow IDs to record (every
	// run of each, following continue-as-new).
	run func(r *rec) ([]string, error)
}

func run(prefix, only, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	db, err := testenv.NewDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	srv, err := testenv.StartTemporal(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	tc := srv.Client()
	st := store.New(db.Pool)

	emu := airtableemu.New(airtableemu.Options{Penalty: 300 * time.Millisecond})
	emuSrv := httptest.NewServer(emu.Handler())
	defer emuSrv.Close()
	llmSrv := httptest.NewServer(fakeLLM{})
	defer llmSrv.Close()
	provider, err := llm.NewProvider(llm.Config{Kind: "openai", APIKey: "k", BaseURL: llmSrv.URL + "/v1"})
	if err != nil {
		return err
	}

	// The SMS provider (the Twilio emulator, without status callbacks) and
	// the public address its inbound webhook posts to (the API below).
	sms := smsemu.New(smsemu.Options{NoCallbacks: true})
	defer sms.Close()
	smsSrv := httptest.NewServer(sms.Handler())
	defer smsSrv.Close()
	messenger := twilioapi.NewMessenger(twilioapi.New(twilioapi.Config{AccountSID: sms.AccountSID(), AuthToken: sms.AuthToken(),
		BaseURL: smsSrv.URL, Timeout: 3 * time.Second}))

	const queue = "histories"
	// PublicBaseURL (the webhook notifications' address) is the API below, once it listens.
	syncer := &activities.Sync{Store: st, Log: zap.NewNop(), APIKey: "k", BaseURL: emuSrv.URL + "/v0", Penalty: 300 * time.Millisecond}
	draft := &activities.Draft{Provider: provider, Store: st}
	w := worker.New(tc, queue, worker.Options{})
	workflows.Register(w, &activities.Campaign{Store: st, Log: zap.NewNop()},
		&activities.Alerts{Store: st, Sinks: []activities.AlertSink{activities.LogSink{Log: zap.NewNop()}}}, draft,
		syncer)
	w.RegisterActivity(&syncstart.Trigger{Store: st, Temporal: tc, TaskQueue: queue})
	workflows.RegisterSender(w, &activities.Sender{Store: st, Log: zap.NewNop(), Messenger: messenger, DefaultFrom: smsFrom,
		Account: sms.AccountSID(), StatusCallback: "http://127.0.0.1:9/v1/webhooks/sms/status", StaleAfter: 5 * time.Second})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	lw := worker.New(tc, workflows.LLMTaskQueue, worker.Options{})
	workflows.RegisterLLM(lw, draft)
	if err := lw.Start(); err != nil {
		return err
	}
	defer lw.Stop()

	d := api.DefaultDrafting()
	d.Models = []string{"err500-primary", "ok-fallback"}
	d.AttemptTimeout, d.TotalTimeout = 2*time.Second, 10*time.Second
	h := httptest.NewUnstartedServer(nil)
	h.Start()
	defer h.Close()
	syncer.PublicBaseURL = h.URL
	h.Config.Handler = api.Router(api.Deps{Store: st, Temporal: tc, Logger: zap.NewNop(), TaskQueue: queue, Drafting: d, TaskSyncWindow: 2 * time.Second,
		SMS: api.SMSConfig{AuthToken: sms.AuthToken(), PublicBaseURL: h.URL, DefaultFrom: smsFrom, Messenger: messenger, TestLimitPerHour: 5}})
	sms.SetInboundURL(h.URL + "/v1/webhooks/sms/inbound")
	_, tok, err := st.CreateToken(ctx, store.NewToken{Role: auth.RoleSuperAdmin}, "histories")
	if err != nil {
		return err
	}

	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	for n := range want {
		if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.name == n }) {
			return fmt.Errorf("unknown scenario %q (-list shows them)", n)
		}
	}
	for i, s := range scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		r := &rec{ctx: ctx, db: db, st: st, tc: tc, emu: emu, sms: sms, api: h.URL, token: tok, emuURL: emuSrv.URL}
		// A zone where it is daytime, so the campaigns send now.
		zone, err := testenv.DayZone(time.Now())
		if err != nil {
			return err
		}
		cl, err := st.CreateClient(ctx, store.NewClient{Name: fmt.Sprintf("%s %d", s.name, i), Timezone: zone, AirtableTable: "Leads", MaxPerDay: 10}, "histories")
		if err != nil {
			return err
		}
		r.client = cl.ID
		start := time.Now()
		ids, err := s.run(r)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s.name, err)
		}
		for j, id := range ids {
			name := prefix + "-" + s.name
			if j > 0 { // a second workflow of the scenario: name it by its type
				name += "-" + strings.SplitN(id, "/", 2)[0]
			}
			n, err := r.save(out, name, id)
			if err != nil {
				return fmt.Errorf("scenario %s: save %s: %w", s.name, id, err)
			}
			fmt.Printf("histories: scenario=%s workflow=%s runs=%d seconds=%.1f\n", s.name, id, n, time.Since(start).Seconds())
		}
	}
	return nil
}

// save writes every run of the workflow (first run first: the latest run
// is walked back through continue-as-new) and refuses to overwrite a
// recorded file.
func (r *rec) save(dir, name, workflowID string) (int, error) {
	var runs []*historypb.History
	runID := ""
	for {
		hist := &historypb.History{}
		it := r.tc.GetWorkflowHistory(r.ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return 0, err
			}
			hist.Events = append(hist.Events, ev)
		}
		if len(hist.Events) == 0 {
			return 0, fmt.Errorf("empty history for %s", workflowID)
		}
		runs = append(runs, hist)
		runID = hist.Events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			break
		}
	}
	slices.Reverse(runs)
	for i, hist := range runs {
		file := name + ".json"
		if len(runs) > 1 {
			file = fmt.Sprintf("%s-run%d.json", name, i+1)
		}
		path := filepath.Join(dir, file)
		if _, err := os.Stat(path); err == nil {
			return 0, fmt.Errorf("%s exists: recorded histories are never overwritten; use a new -prefix", path)
		}
		raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
			return 0, err
		}
	}
	return len(runs), nil
}

// smsFrom is the deployment's sending number.
const smsFrom = "+15550100000"

// ---- helpers the scenarios share ----

func (r *rec) call(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, r.api+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// expect calls the API and fails unless the status is one of want.
func (r *rec) expect(method, path string, body any, dst any, want ...int) error {
	code, raw, err := r.call(method, path, body)
	if err != nil {
		return err
	}
	if !slices.Contains(want, code) {
		return fmt.Errorf("%s %s: %d %s", method, path, code, raw)
	}
	if dst != nil {
		return json.Unmarshal(raw, dst)
	}
	return nil
}

func (r *rec) seedLeads(n int, tag string) error {
	_, err := r.db.Pool.Exec(r.ctx, `INSERT INTO leads (client_id, airtable_record_id, first_name, phone, tags, icp_score, status)
		SELECT $1::uuid, 'rec' || md5($1::text || g::text), 'Lead' || g, '+1555' || lpad(g::text, 7, '0'), ARRAY[$3::text], 50, 'new'
		FROM generate_series(1, $2) g`, r.client, n, tag)
	return err
}

type campaignRef struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	Status     string `json:"status"`
}

func (r *rec) createCampaign(name string, extra map[string]any) (campaignRef, error) {
	body := map[string]any{"client_id": r.client.String(), "name": name, "target_tags": []string{"t"},
		"messages": []map[string]any{{"body": "Hi {{first_name}}, book a visit: https://calendly.com/acme", "delay_minutes": 0},
			{"body": "Still interested? Reply to book.", "delay_minutes": 0}}}
	for k, v := range extra {
		body[k] = v
	}
	var c campaignRef
	err := r.expect("POST", "/v1/campaigns", body, &c, 201)
	return c, err
}

// waitCampaign polls the row until its status is one of want.
func (r *rec) waitCampaign(id string, want ...string) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var status string
		if err := r.db.Pool.QueryRow(r.ctx, `SELECT status FROM campaigns WHERE id = $1`, id).Scan(&status); err != nil {
			return "", err
		}
		if slices.Contains(want, status) {
			return status, nil
		}
		if time.Now().After(deadline) {
			return status, fmt.Errorf("campaign %s is %s, want %v", id, status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitClosed waits until the workflow's current run has closed.
func (r *rec) waitClosed(workflowID string) error {
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	// Get follows continue-as-new to the last run.
	return r.tc.GetWorkflow(ctx, workflowID, "").Get(ctx, nil)
}

// waitFor polls cond until it holds.
func waitFor(what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// airtableBase gives the scenario's client an emulator base with n leads.
func (r *rec) airtableBase(n int) ([]string, error) {
	r.base = "appHist" + strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	if _, err := r.emu.CreateBase(r.base, "histories", airtableemu.LeadsSpec()); err != nil {
		return nil, err
	}
	var fields []map[string]any
	for i := 0; i < n; i++ {
		fields = append(fields, map[string]any{
			airtableemu.FieldFirstName: fmt.Sprintf("Lead%d", i), airtableemu.FieldPhone: fmt.Sprintf("+1555%07d", i),
			airtableemu.FieldTags: []any{"vip"}, airtableemu.FieldStatus: "new", airtableemu.FieldTimezone: "America/Chicago",
		})
	}
	ids, err := r.emu.SeedFields(r.base, "Leads", fields)
	if err != nil {
		return nil, err
	}
	_, err = r.db.Pool.Exec(r.ctx, `UPDATE clients SET airtable_base_id = $2 WHERE id = $1`, r.client, r.base)
	return ids, err
}

type syncRef struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	Phase      string `json:"phase"`
}

func (r *rec) startSync() (syncRef, error) {
	var s syncRef
	err := r.expect("POST", "/v1/syncs", map[string]any{"client_id": r.client.String()}, &s, 202)
	return s, err
}

func (r *rec) waitSync(id string, want ...string) error {
	return waitFor("sync "+id+" "+strings.Join(want, "|"), func() (bool, error) {
		var phase string
		if err := r.db.Pool.QueryRow(r.ctx, `SELECT phase FROM sync_runs WHERE id = $1`, id).Scan(&phase); err != nil {
			return false, err
		}
		return slices.Contains(want, phase), nil
	})
}

// stagedSync runs a first sync of n records, removes del of them from the
// emulator and starts a second sync, which stages them.
func (r *rec) stagedSync(n, del int) (syncRef, error) {
	ids, err := r.airtableBase(n)
	if err != nil {
		return syncRef{}, err
	}
	first, err := r.startSync()
	if err != nil {
		return syncRef{}, err
	}
	if err := r.waitSync(first.ID, store.SyncCompleted); err != nil {
		return syncRef{}, err
	}
	if err := r.waitClosed(first.WorkflowID); err != nil {
		return syncRef{}, err
	}
	if _, err := r.emu.DeleteRecords(r.base, "Leads", ids[:del]...); err != nil {
		return syncRef{}, err
	}
	second, err := r.startSync()
	if err != nil {
		return syncRef{}, err
	}
	return second, r.waitSync(second.ID, store.SyncAwaitingDecision)
}

// fakeLLM speaks the chat completions API: models named err500-* fail, any
// other answers with a draft that passes the output checks.
type fakeLLM struct{}

func (fakeLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model string `json:"model"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if strings.HasPrefix(body.Model, "err500") {
		http.Error(w, `{"error":{"message":"upstream exploded","type":"server_error"}}`, 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body.Model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant",
			"content": "Hi {{first_name}}, ready for your spring check-up? Book here: https://calendly.com/acme/checkup Reply STOP to opt out"}}},
		"usage": map[string]any{"prompt_tokens": 300, "completion_tokens": 40, "total_tokens": 340},
	})
}
