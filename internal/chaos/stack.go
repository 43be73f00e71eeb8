package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/testenv"
)

// Application names of the processes' Postgres connections, so a scenario
// can find (and terminate) exactly the worker's backends.
const (
	WorkerAppName  = "nurture-worker"
	APIAppName     = "nurture-api"
	harnessAppName = "nurture-chaos"
)

// Stack is one scenario's system, all real: a freshly migrated database on
// the local Postgres, a Temporal dev server subprocess with its state in a
// file, the Airtable emulator (in this process, over HTTP), and the worker
// and API processes the scenario starts. Close stops every process it
// started and drops the database.
type Stack struct {
	env      *Env
	Name     string
	Dir      string
	DB       *testenv.Database
	Store    *store.Store
	Temporal *Temporal
	// TC is the harness's own Temporal client, for inspection only
	// (pollers, workflow state); the system is driven through the API.
	TC     client.Client
	Queue  string
	Emu    *airtableemu.Emulator
	EmuURL string
	// SMS is the stack's SMS provider (the Twilio emulator), SMSURL its address.
	SMS    *smsemu.Emulator
	SMSURL string

	emuSrv *httptest.Server
	smsSrv *httptest.Server
	procs  []*Proc
	seq    map[string]int
}

// NewStack brings up the database, Temporal and the emulator.
func NewStack(ctx context.Context, env *Env, name string) (_ *Stack, err error) {
	dir, err := os.MkdirTemp(env.Dir, name+"-")
	if err != nil {
		return nil, err
	}
	s := &Stack{env: env, Name: name, Dir: dir, Queue: "chaos-" + name, seq: map[string]int{}}
	defer func() {
		if err != nil {
			s.Close(true)
		}
	}()
	if s.DB, err = testenv.NewDatabase(ctx); err != nil {
		return nil, err
	}
	s.Store = store.New(s.DB.Pool)
	if s.Temporal, err = newTemporal(env.TemporalBin, dir, os.Environ()); err != nil {
		return nil, err
	}
	if err = s.Temporal.StartAndWait(ctx); err != nil {
		return nil, err
	}
	if err = s.redial(ctx); err != nil {
		return nil, err
	}
	s.Emu = airtableemu.New(airtableemu.Options{})
	s.emuSrv = httptest.NewServer(s.Emu.Handler())
	s.EmuURL = s.emuSrv.URL
	s.SMS = smsemu.New(smsemu.Options{NoCallbacks: true})
	s.smsSrv = httptest.NewServer(s.SMS.Handler())
	s.SMSURL = s.smsSrv.URL
	return s, nil
}

// redial replaces the harness's Temporal client with a fresh connection.
func (s *Stack) redial(ctx context.Context) error {
	logf, err := os.OpenFile(s.Dir+"/harness-temporal-client.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	tc, err := client.DialContext(ctx, client.Options{HostPort: s.Temporal.Address(), Namespace: "default",
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelWarn})))})
	if err != nil {
		_ = logf.Close()
		return fmt.Errorf("harness temporal client: %w", err)
	}
	if s.TC != nil {
		s.TC.Close()
	}
	s.TC = tc
	return nil
}

// Close stops every process (SIGTERM, then SIGKILL), Temporal, the
// emulator and drops the database. keep leaves the logs on disk.
func (s *Stack) Close(keep bool) {
	for i := len(s.procs) - 1; i >= 0; i-- {
		_ = s.procs[i].Stop(10 * time.Second)
	}
	if s.TC != nil {
		s.TC.Close()
	}
	if s.Temporal != nil {
		_ = s.Temporal.Stop(20 * time.Second)
	}
	if s.emuSrv != nil {
		s.emuSrv.CloseClientConnections()
		s.emuSrv.Close()
	}
	if s.smsSrv != nil {
		s.smsSrv.CloseClientConnections()
		s.smsSrv.Close()
		s.SMS.Close()
	}
	if s.DB != nil {
		s.DB.Close()
	}
	if !keep && !s.env.KeepLogs {
		_ = os.RemoveAll(s.Dir)
	}
}

// withAppName sets application_name on a postgres:// URL.
func withAppName(raw, app string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

// processEnv is the environment of a worker or API process: this process's
// environment without any Nurture or Temporal setting, then the stack's.
func (s *Stack) processEnv(app string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "TEMPORAL_"), strings.HasPrefix(k, "LLM_"), strings.HasPrefix(k, "AI_"),
			strings.HasPrefix(k, "AIRTABLE_"), strings.HasPrefix(k, "SYNC_"), strings.HasPrefix(k, "DB_"),
			strings.HasPrefix(k, "LOG_"), strings.HasPrefix(k, "TWILIO_"), strings.HasPrefix(k, "SMS_"), k == "PUBLIC_BASE_URL",
			k == "DATABASE_URL", k == "HTTP_ADDR", k == "WORKER_METRICS_ADDR", k == "BOOTSTRAP_TOKEN":
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"DATABASE_URL="+withAppName(s.DB.URL, app),
		"TEMPORAL_ADDRESS="+s.Temporal.Address(),
		"TEMPORAL_NAMESPACE=default",
		"TEMPORAL_TASK_QUEUE="+s.Queue,
		"AIRTABLE_BASE_URL="+s.EmuURL+"/v0",
		"AIRTABLE_RATE_PER_SECOND=0",
		"TWILIO_BASE_URL="+s.SMSURL,
		"TWILIO_ACCOUNT_SID="+s.SMS.AccountSID(),
		"TWILIO_AUTH_TOKEN="+s.SMS.AuthToken(),
		"TWILIO_TIMEOUT=2s",
		"PUBLIC_BASE_URL=http://127.0.0.1:9", // no callbacks: the emulator's are off
		"WORKER_METRICS_ADDR=127.0.0.1:0",
		"LOG_LEVEL=warn",
		// Small pools: the machine's Postgres is shared (max_connections 100).
		"DB_MAX_CONNS=8",
	)
	return append(env, extra...)
}

func (s *Stack) name(kind string) string {
	s.seq[kind]++
	return kind + strconv.Itoa(s.seq[kind])
}

// StartWorker starts a worker process (./cmd/worker) and waits until it
// polls the stack's task queue.
func (s *Stack) StartWorker(ctx context.Context, extra ...string) (*Proc, error) {
	name := s.name("worker")
	p := &Proc{Name: name, Path: s.env.WorkerBin, Env: s.processEnv(WorkerAppName, extra), Log: s.Dir + "/" + name + ".log"}
	if err := p.Start(); err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	if _, err := s.WaitPolling(ctx, p, time.Minute); err != nil {
		return p, err
	}
	return p, nil
}

// RestartWorker starts a killed worker process again and waits until it polls.
func (s *Stack) RestartWorker(ctx context.Context, p *Proc) error {
	if err := p.Start(); err != nil {
		return err
	}
	_, err := s.WaitPolling(ctx, p, time.Minute)
	return err
}

// WaitPolling waits until the worker process is seen polling the task
// queue for workflow tasks (its identity starts with its pid), and answers
// how long that took. DescribeTaskQueue lists the root partition's
// pollers, so this is an upper bound on when the worker polls again.
func (s *Stack) WaitPolling(ctx context.Context, p *Proc, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	prefix := strconv.Itoa(p.Pid()) + "@"
	for time.Since(start) < limit {
		if up, err := p.Running(); !up {
			return 0, fmt.Errorf("%s exited: %v; log: %s", p.Name, err, oneLine(p.Tail(1500)))
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := s.TC.WorkflowService().DescribeTaskQueue(dctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: "default", TaskQueue: taskQueue(s.Queue), TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
		})
		cancel()
		if err == nil {
			for _, pi := range resp.GetPollers() {
				if strings.HasPrefix(pi.GetIdentity(), prefix) {
					return time.Since(start), nil
				}
			}
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s (pid %d) not polling %s after %s", p.Name, p.Pid(), s.Queue, limit)
}

// API is an API process and its base URL.
type API struct {
	*Proc
	URL string
}

// StartAPI starts an API process (./cmd/api) on a free port and waits
// until /readyz answers 200 (Postgres and Temporal reachable).
// A port found free can be taken before the API binds it (the machine is
// shared): an API that exits while starting is started on another.
func (s *Stack) StartAPI(ctx context.Context, extra ...string) (*API, error) {
	name := s.name("api")
	p := &Proc{Name: name, Path: s.env.APIBin, Log: s.Dir + "/" + name + ".log"}
	s.procs = append(s.procs, p)
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		ports, perr := freePorts(1)
		if perr != nil {
			return nil, perr
		}
		addr := "127.0.0.1:" + strconv.Itoa(ports[0])
		p.Env = s.processEnv(APIAppName, append([]string{"HTTP_ADDR=" + addr, "DB_MAX_CONNS=6"}, extra...))
		if err = p.Start(); err != nil {
			return nil, err
		}
		a := &API{Proc: p, URL: "http://" + addr}
		if _, err = a.WaitReady(ctx, time.Minute); err == nil {
			return a, nil
		}
		if up, _ := p.Running(); up || ctx.Err() != nil {
			return a, err
		}
	}
	return nil, err
}

// WaitReady polls /readyz until 200 and answers how long that took.
func (a *API) WaitReady(ctx context.Context, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	last := ""
	for time.Since(start) < limit {
		if up, err := a.Running(); !up {
			return 0, fmt.Errorf("%s exited: %v; log: %s", a.Name, err, oneLine(a.Tail(1500)))
		}
		r, err := a.Do(ctx, http.MethodGet, "/readyz", "", nil)
		if err == nil && r.Status == http.StatusOK {
			return time.Since(start), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %s", r.Status, r.Body)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after %s: %s", a.Name, limit, oneLine(last))
}

// Tenant is a client of the stack and a client_admin token for it.
type Tenant struct {
	store.Client
	Token string
}

// NewTenant creates a client (with an Airtable base id, or none) and a
// client_admin token for it, through internal/store.
func (s *Stack) NewTenant(ctx context.Context, name, base string) (Tenant, error) {
	cl, err := s.Store.CreateClient(ctx, store.NewClient{Name: name + "-" + uuid.NewString()[:8], Timezone: "UTC",
		AirtableBaseID: base, AirtableTable: airtableemu.LeadsTable}, "chaos")
	if err != nil {
		return Tenant{}, err
	}
	_, tok, err := s.Store.CreateToken(ctx, store.NewToken{Name: "chaos", Role: auth.RoleClientAdmin, ClientID: &cl.ID}, "chaos")
	if err != nil {
		return Tenant{}, err
	}
	return Tenant{Client: cl, Token: tok}, nil
}
