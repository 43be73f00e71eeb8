package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/llm"
	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/internal/tasksync"
	"github.com/nurture-sms/nurture/internal/testenv"
	"github.com/nurture-sms/nurture/internal/twilioapi"
	"github.com/nurture-sms/nurture/workflows"
)

var (
	testEmu    = airtableemu.New(airtableemu.Options{Penalty: 300 * time.Millisecond})
	testSMS    = smsemu.New(smsemu.Options{CallbackDelay: 20 * time.Millisecond})
	testSMSURL string
	// testPublic is the API every test's SMS callbacks and inbound posts reach
	// (the emulator needs one address; each harness has its own server).
	testPublic   = &publicAPI{}
	testLLM      = &fakeOpenAI{}
	testDB       *testenv.Database
	testTemporal client.Client
	testStore    *store.Store
	testEmuURL   string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	testDB, err = testenv.NewDatabase(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer testDB.Close()
	testStore = store.New(testDB.Pool)
	srv, err := testenv.StartTemporal(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer func() { _ = srv.Stop() }()
	testTemporal = srv.Client()
	llmSrv := httptest.NewServer(testLLM)
	defer llmSrv.Close()
	provider, err := llm.NewProvider(llm.Config{Kind: "openai", APIKey: "test-key", BaseURL: llmSrv.URL + "/v1"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: provider:", err)
		return 1
	}
	draft := &activities.Draft{Provider: provider, Store: testStore}
	emuSrv := httptest.NewServer(testEmu.Handler())
	defer emuSrv.Close()
	testEmuURL = emuSrv.URL
	syncer := &activities.Sync{Store: testStore, Log: zap.NewNop(), APIKey: "test", BaseURL: emuSrv.URL + "/v0", Penalty: 400 * time.Millisecond}
	smsSrv := httptest.NewServer(testSMS.Handler())
	defer smsSrv.Close()
	defer testSMS.Close()
	testSMSURL = smsSrv.URL
	public := httptest.NewServer(testPublic)
	defer public.Close()
	testPublic.url = public.URL
	syncer.PublicBaseURL = public.URL
	syncer.TasksChanged = tasksync.Nudger(testTemporal, "test", taskWindow)
	testSMS.SetInboundURL(public.URL + "/v1/webhooks/sms/inbound")
	w := worker.New(testTemporal, "test", worker.Options{})
	workflows.Register(w, &activities.Campaign{Store: testStore, Log: zap.NewNop()},
		&activities.Alerts{Store: testStore, Sinks: []activities.AlertSink{activities.LogSink{Log: zap.NewNop()}, activities.WebhookSink{}}}, draft, syncer)
	w.RegisterActivity(&syncstart.Trigger{Store: testStore, Temporal: testTemporal, TaskQueue: "test"})
	workflows.RegisterSender(w, &activities.Sender{Store: testStore, Log: zap.NewNop(), Messenger: testMessenger(),
		DefaultFrom: testFrom, Account: testSMS.AccountSID(), StatusCallback: public.URL + "/v1/webhooks/sms/status",
		StaleAfter: 3 * time.Second, Penalty: 200 * time.Millisecond})
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start worker:", err)
		return 1
	}
	defer w.Stop()
	// A second queue whose sender keeps to a rate (pause/resume tests).
	rw := worker.New(testTemporal, ratedQueue, worker.Options{})
	workflows.Register(rw, &activities.Campaign{Store: testStore, Log: zap.NewNop()},
		&activities.Alerts{Store: testStore, Sinks: []activities.AlertSink{activities.LogSink{Log: zap.NewNop()}}}, draft, syncer)
	workflows.RegisterSender(rw, &activities.Sender{Store: testStore, Log: zap.NewNop(), Messenger: testMessenger(),
		DefaultFrom: testFrom, Account: testSMS.AccountSID(), StatusCallback: public.URL + "/v1/webhooks/sms/status",
		StaleAfter: 3 * time.Second, Penalty: 200 * time.Millisecond, RatePerNumber: ratedPerSecond})
	if err := rw.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start rated worker:", err)
		return 1
	}
	defer rw.Stop()
	lw := worker.New(testTemporal, workflows.LLMTaskQueue, worker.Options{TaskQueueActivitiesPerSecond: 50})
	workflows.RegisterLLM(lw, draft)
	if err := lw.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start llm worker:", err)
		return 1
	}
	defer lw.Stop()
	return m.Run()
}

// harness is one API server over real HTTP with an observed logger.
type harness struct {
	t    *testing.T
	srv  *httptest.Server
	logs *observer.ObservedLogs
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	r := api.Router(api.Deps{Store: testStore, Temporal: testTemporal, Logger: zap.New(core), TaskQueue: "test", SMS: testSMSConfig()})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	testPublic.set(r)
	return &harness{t: t, srv: srv, logs: logs}
}

// testFrom is the deployment's sending number in the tests.
const testFrom = "+15550100000"

// ratedQueue's sender sends at most ratedPerSecond messages a second per number.
const (
	ratedQueue     = "test-rated"
	ratedPerSecond = 25
)

// newRatedHarness is newHarness on the rated queue.
func newRatedHarness(t *testing.T) *harness {
	t.Helper()
	r := api.Router(api.Deps{Store: testStore, Temporal: testTemporal, Logger: zap.NewNop(), TaskQueue: ratedQueue, SMS: testSMSConfig()})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv}
}

func testMessenger() *twilioapi.Messenger {
	return twilioapi.NewMessenger(twilioapi.New(twilioapi.Config{AccountSID: testSMS.AccountSID(), AuthToken: testSMS.AuthToken(),
		BaseURL: testSMSURL, Timeout: 3 * time.Second}))
}

func testSMSConfig() api.SMSConfig {
	return api.SMSConfig{AuthToken: testSMS.AuthToken(), PublicBaseURL: testPublic.url, DefaultFrom: testFrom,
		Messenger: testMessenger(), TestLimitPerHour: 5}
}

// publicAPI is the one public address of the tests' APIs: it serves with
// the newest harness's router (the SMS emulator posts here, signing over
// this URL).
type publicAPI struct {
	mu  sync.Mutex
	h   http.Handler
	url string
}

func (p *publicAPI) set(h http.Handler) {
	p.mu.Lock()
	p.h = h
	p.mu.Unlock()
}

func (p *publicAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	h := p.h
	p.mu.Unlock()
	if h == nil {
		http.Error(w, "no API yet", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

type envelope struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

// errorOf checks the envelope shape and returns it.
func (r response) errorOf(t *testing.T) envelope {
	t.Helper()
	var e envelope
	r.json(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error envelope: %s", r.Body)
	}
	if e.Error.RequestID == "" || e.Error.RequestID != r.Header.Get("X-Request-ID") {
		t.Fatalf("request_id %q does not match header %q", e.Error.RequestID, r.Header.Get("X-Request-ID"))
	}
	return e
}

func (h *harness) do(method, path, token string, body any, hdr ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = strings.NewReader(string(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// tenant is a client with an admin and a viewer token.
type tenant struct {
	ID     uuid.UUID
	Admin  string
	Viewer string
}

func newTenant(t testing.TB, name string) tenant {
	t.Helper()
	ctx := context.Background()
	c, err := testStore.CreateClient(ctx, store.NewClient{Name: name + "-" + uuid.NewString()[:8], Timezone: "UTC", AirtableTable: "Leads"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	tn := tenant{ID: c.ID}
	_, tn.Admin, err = testStore.CreateToken(ctx, store.NewToken{Role: auth.RoleClientAdmin, ClientID: &c.ID}, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, tn.Viewer, err = testStore.CreateToken(ctx, store.NewToken{Role: auth.RoleClientViewer, ClientID: &c.ID}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func superToken(t testing.TB) string {
	t.Helper()
	_, tok, err := testStore.CreateToken(context.Background(), store.NewToken{Role: auth.RoleSuperAdmin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// seedLeads inserts n leads for client in one statement; created_at spreads
// over n minutes back from base, tags and statuses cycle.
func seedLeads(t testing.TB, client uuid.UUID, n int, base time.Time) {
	t.Helper()
	_, err := testDB.Pool.Exec(context.Background(), `
		INSERT INTO leads (client_id, airtable_record_id, first_name, phone, email, tags, icp_score, engagement_level, status, created_at)
		SELECT $1::uuid, 'rec' || md5($1::text || g::text), 'Lead' || g, '+1555' || lpad(g::text, 7, '0'), 'lead' || g || '@example.com',
		       CASE WHEN g % 3 = 0 THEN ARRAY['webinar-2025','vip'] WHEN g % 3 = 1 THEN ARRAY['webinar-2025'] ELSE ARRAY['cold'] END,
		       g % 101, (ARRAY['low','medium','high'])[1 + g % 3], (ARRAY['new','contacted','engaged'])[1 + g % 3],
		       $3::timestamptz - make_interval(mins => g)
		FROM generate_series(1, $2) g`, client, n, base)
	if err != nil {
		t.Fatal(err)
	}
}
