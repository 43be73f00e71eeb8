package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/testenv"
	"github.com/nurture-sms/nurture/workflows"
)

const (
	apiPath        = "/v1/leads?limit=100"
	apiConnections = 32
	apiWarmup      = 3 * time.Second
	// Tokens of other holders in api_tokens, so the per-request lookup is
	// an index probe into a table of realistic size, not a one-row scan.
	apiOtherTokens = 1000
)

// pageSQL is the statement store.ListLeads sends for the first page of a
// client-scoped GET /v1/leads?limit=100 (copied from internal/store/leads.go:
// leadCols, the deleted_at and client_id conditions, the order, limit+1).
// apiBench checks it against what the API process actually ran (from
// pg_stat_activity), so a change in the store fails the bench instead of
// silently measuring another query.
const pageSQL = `SELECT l.id, l.client_id, l.airtable_record_id, l.first_name, l.last_name, l.phone, l.email, l.timezone,
	l.tags, l.icp_score, l.engagement_level, l.status, l.booked, l.sms_stop, l.created_at, l.updated_at FROM leads l WHERE l.deleted_at IS NULL AND l.client_id = $1 ORDER BY l.client_id, l.created_at DESC, l.id DESC LIMIT $2`

// tokenSQL is store.LookupToken's statement, which the API's authenticate
// middleware runs before every /v1 request.
const tokenSQL = `
		SELECT t.id, t.role, t.client_id, t.token_hash FROM api_tokens t
		LEFT JOIN clients c ON c.id = t.client_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`

// apiBench: GET /v1/leads?limit=100 on a real API process (cmd/api, built
// into a temp dir) under a real HTTP load tool (hey, 32 connections, fixed
// duration), over one client with n leads. Every request is authenticated
// the way production does it: the bearer token is hashed and looked up in
// api_tokens in Postgres (no BOOTSTRAP_TOKEN shortcut), so each request
// costs two statements — the token lookup and the page — and both are part
// of the figure. The floor is the page statement alone through pgbench
// (prepared, 32 clients, same duration, same database);
// floor_with_auth_rps runs both statements per transaction, i.e. the
// database work of one API request.
func (e *env) apiBench(ctx context.Context, temporalHostPort string, n int, dur time.Duration) error {
	hey := filepath.Join(testenv.RepoRoot(), "bin", "hey")
	if _, err := os.Stat(hey); err != nil {
		return fmt.Errorf("needs hey at %s (make bench installs it): %w", hey, err)
	}
	pgbench, err := findPgbench()
	if err != nil {
		return err
	}
	cid, err := e.client(ctx, "api-bench")
	if err != nil {
		return err
	}
	// One lead a millisecond, newest first from now: the first page is this
	// client's newest 101 leads and no other figure's rows fall among them.
	// (With one a second, rows another figure wrote in the last 100 s sit
	// between them at the head of leads_page_all_idx; when the planner picks
	// that index for this client-scoped page, the first page has to filter
	// past them all. See docs/BENCHMARKS.md.)
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, first_name, last_name, phone, email, timezone,
			tags, icp_score, engagement_level, status, created_at, updated_at)
		SELECT $1::uuid, 'rec' || lpad(g::text, 14, '0'), 'First' || g, 'Last' || g, '+1555' || lpad((g % 10000000)::text, 7, '0'),
		       'lead' || g || '@example.com', 'America/New_York',
		       CASE WHEN g % 10 = 0 THEN ARRAY['webinar', 'vip'] ELSE ARRAY['webinar'] END, g % 101,
		       (ARRAY['low','medium','high'])[1 + g % 3], (ARRAY['new','contacted','engaged'])[1 + g % 3],
		       now() - g * interval '1 ms', now() - g * interval '1 ms'
		FROM generate_series(1, $2) g`, cid, n); err != nil {
		return err
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO api_tokens (token_hash, name, role, client_id)
		SELECT gen_random_bytes(32), 'other-' || g, 'client_viewer', $1 FROM generate_series(1, $2) g`, cid, apiOtherTokens); err != nil {
		return err
	}
	_, tok, err := e.st.CreateToken(ctx, store.NewToken{Name: "api-bench", Role: auth.RoleClientViewer, ClientID: &cid}, "bench")
	if err != nil {
		return err
	}
	// VACUUM leaves most of the new table dirty in shared buffers; flush it
	// now, or the checkpoint that follows lands in the measured run.
	for _, q := range []string{`VACUUM ANALYZE`, `CHECKPOINT`} {
		if _, err := e.db.Pool.Exec(ctx, q); err != nil {
			return err
		}
	}

	dir, err := os.MkdirTemp("", "nurture-bench-api-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "api")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/api")
	build.Dir = testenv.RepoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build cmd/api: %w", err)
	}
	proc, base, err := startAPI(ctx, bin, e.db.URL, temporalHostPort)
	if err != nil {
		return err
	}
	defer proc.stop()

	url := base + apiPath
	pageBytes, err := checkPage(url, tok)
	if err != nil {
		return err
	}
	hdr := "Authorization: Bearer " + tok
	if _, err := runHey(hey, apiWarmup, url, hdr, false); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	// Where the CPU went during the measured run: the API, the bench
	// database's Postgres backends, hey, and everything else on the machine
	// (other work sharing these cores shows up as others_cpu_pct).
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan map[string]bool, 1)
	go func() { sampled <- e.sampleSQL(sctx) }()
	split := e.startCPUSplit(ctx)
	apiCPU := -procCPU(proc.cmd.Process.Pid)
	h, err := runHey(hey, dur, url, hdr, true)
	apiCPU += procCPU(proc.cmd.Process.Pid)
	busy, pgCPU, selfCPU := split.stop()
	others, apiPG := busy-apiCPU-pgCPU-selfCPU-h.cpu, pgCPU
	stopSampling()
	seen := <-sampled
	if err != nil {
		return err
	}
	if err := checkAPISQL(seen); err != nil {
		return err
	}
	rss := peakRSSMB(proc.cmd.Process.Pid)
	proc.stop()

	hash := `\x` + hex.EncodeToString(auth.Hash(tok))
	vars := map[string]string{"cid": cid.String(), "lim": "101", "hash": hash}
	plan, err := e.explainPage(ctx, cid)
	if err != nil {
		return err
	}
	split = e.startCPUSplit(ctx)
	floor, benchCPU, err := runPgbench(ctx, pgbench, e.db.URL, dir, "page", dur, vars, pgbenchSQL(pageSQL, "cid", "lim"))
	if err != nil {
		return err
	}
	busy, pgCPU, selfCPU = split.stop()
	floorOthers := busy - pgCPU - selfCPU - benchCPU
	floorAuth, _, err := runPgbench(ctx, pgbench, e.db.URL, dir, "auth_page", dur, vars,
		pgbenchSQL(tokenSQL, "hash"), pgbenchSQL(pageSQL, "cid", "lim"))
	if err != nil {
		return err
	}
	fmt.Printf("api: leads=%d path=%s connections=%d rps=%.0f p50_ms=%.1f p99_ms=%.1f floor_rps=%.0f ratio_to_floor=%.2f floor_with_auth_rps=%.0f errors=%d duration_s=%.0f response_kb=%.1f api_cpu_pct=%.0f pg_cpu_pct=%.0f hey_cpu_pct=%.0f others_cpu_pct=%.0f floor_others_cpu_pct=%.0f api_peak_rss_mb=%.0f plan_index=%s plan_rows_filtered=%d plan_ms=%.2f\n",
		n, apiPath, apiConnections, h.rps, h.p50ms, h.p99ms, floor, h.rps/floor, floorAuth, h.errors, dur.Seconds(), float64(pageBytes)/1024,
		100*apiCPU/h.seconds, 100*apiPG/h.seconds, 100*h.cpu/h.seconds, 100*max(others, 0)/h.seconds,
		100*max(floorOthers, 0)/dur.Seconds(), rss, plan.index, plan.filtered, plan.ms)
	return nil
}

// pagePlan is what EXPLAIN ANALYZE says of pageSQL for the bench client
// (a custom plan, as the API's prepared statements get: the values are
// known when it is planned).
type pagePlan struct {
	index    string  // the index the scan uses ("" if none)
	filtered int     // rows read and thrown away by a Filter
	ms       float64 // execution time
}

func (e *env) explainPage(ctx context.Context, cid uuid.UUID) (pagePlan, error) {
	var raw []byte
	if err := e.db.Pool.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+pageSQL, cid, 101).Scan(&raw); err != nil {
		return pagePlan{}, fmt.Errorf("explain page: %w", err)
	}
	type node struct {
		Index    string `json:"Index Name"`
		Filtered int    `json:"Rows Removed by Filter"`
		Plans    []node `json:"Plans"`
	}
	var out []struct {
		Plan node    `json:"Plan"`
		Ms   float64 `json:"Execution Time"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		return pagePlan{}, fmt.Errorf("explain page: %v %.200s", err, raw)
	}
	p := pagePlan{index: "none", ms: out[0].Ms}
	var walk func(n node)
	walk = func(n node) {
		if n.Index != "" && p.index == "none" {
			p.index = n.Index
		}
		p.filtered += n.Filtered
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(out[0].Plan)
	return p, nil
}

// apiProcess is a running cmd/api.
type apiProcess struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
	once sync.Once
}

// startAPI runs the API on a free port with the bench's database and
// Temporal and waits for /healthz. Inherited settings that would change
// what is measured (BOOTSTRAP_TOKEN, DB_MAX_CONNS, ...) are dropped: the
// process runs with its defaults plus the four variables below.
func startAPI(ctx context.Context, bin, dbURL, temporalHostPort string) (*apiProcess, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.Command(bin)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "TEMPORAL_"), k == "DATABASE_URL", k == "DB_MAX_CONNS", k == "HTTP_ADDR",
			k == "BOOTSTRAP_TOKEN", k == "LOG_LEVEL", k == "LOG_FORMAT":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "DATABASE_URL="+dbURL, "HTTP_ADDR="+addr, "TEMPORAL_ADDRESS="+temporalHostPort,
		"TEMPORAL_TASK_QUEUE="+workflows.TaskQueue, "LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	p := &apiProcess{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, base, nil
			}
		}
		select {
		case <-p.done:
			return nil, "", fmt.Errorf("api exited before serving: %v", p.err)
		case <-ctx.Done():
			p.stop()
			return nil, "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, "", fmt.Errorf("api did not answer /healthz on %s within 30 s", addr)
		}
	}
}

// stop interrupts the process and waits (killing it after 15 s); safe to
// call twice.
func (p *apiProcess) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// checkPage makes sure the URL answers a full page (100 leads and a next
// cursor) before it is loaded, and returns the body's size.
func checkPage(url, tok string) (int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var page struct {
		Data       []json.RawMessage `json:"data"`
		NextCursor *string           `json:"next_cursor"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Data) != 100 || page.NextCursor == nil {
		return 0, fmt.Errorf("GET %s: %d %.200s", url, resp.StatusCode, body)
	}
	return len(body), nil
}

// sampleSQL collects, every 100 ms until ctx ends, the statements other
// backends of this database are running (or, idle, last ran).
func (e *env) sampleSQL(ctx context.Context) map[string]bool {
	seen := map[string]bool{}
	for ctx.Err() == nil {
		rows, err := e.db.Pool.Query(ctx, `SELECT DISTINCT query FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND (query LIKE '%FROM leads l%' OR query LIKE '%FROM api_tokens t%')`)
		if err == nil {
			for rows.Next() {
				var q string
				if rows.Scan(&q) == nil {
					seen[squash(q)] = true
				}
			}
			rows.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return seen
}

// checkAPISQL makes sure pageSQL and tokenSQL are among the statements
// seen while the API was under load, i.e. the floor runs what the API ran.
func checkAPISQL(seen map[string]bool) error {
	for name, q := range map[string]string{"pageSQL": pageSQL, "tokenSQL": tokenSQL} {
		if !seen[squash(q)] {
			return fmt.Errorf("the API did not run %s (store changed? update cmd/bench/api.go); it ran: %q", name, keys(seen))
		}
	}
	return nil
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// heyResult is what we read from hey's summary.
type heyResult struct {
	seconds, rps, p50ms, p99ms float64
	codes                      map[int]int
	errors                     int     // transport errors plus non-2xx answers
	cpu                        float64 // hey's own CPU seconds
}

// runHey loads url for d at apiConnections connections; any transport
// error or non-2xx answer is an error. percentiles: the summary must have
// the 50% and 99% lines (hey prints "0% in 0" for a very short run).
func runHey(bin string, d time.Duration, url, header string, percentiles bool) (heyResult, error) {
	cmd := exec.Command(bin, "-z", d.String(), "-c", strconv.Itoa(apiConnections), "-H", header, url)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return heyResult{}, fmt.Errorf("hey: %w", err)
	}
	h, err := parseHey(string(out), percentiles)
	if err != nil {
		return h, err
	}
	h.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	if h.errors > 0 {
		return h, fmt.Errorf("hey: %d failed requests (status codes %v):\n%s", h.errors, h.codes, out)
	}
	return h, nil
}

// parseHey reads hey's default summary (Total, Requests/sec, the latency
// distribution, status codes and the error distribution).
func parseHey(out string, percentiles bool) (heyResult, error) {
	h := heyResult{codes: map[int]int{}}
	section := ""
	var haveRPS, haveP50, haveP99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case line == "":
			continue
		case strings.HasSuffix(line, ":") && len(f) <= 4:
			section = line
			continue
		case strings.HasPrefix(line, "Total:") && len(f) >= 2:
			h.seconds, _ = strconv.ParseFloat(f[1], 64)
		case strings.HasPrefix(line, "Requests/sec:") && len(f) >= 2:
			h.rps, _ = strconv.ParseFloat(f[1], 64)
			haveRPS = true
		case section == "Latency distribution:" && len(f) == 4 && f[1] == "in":
			// hey v0.1.5 prints "50%% in": its template is passed through printf as data.
			v, _ := strconv.ParseFloat(f[2], 64)
			switch strings.TrimRight(f[0], "%") + "%" {
			case "50%":
				h.p50ms, haveP50 = v*1000, true
			case "99%":
				h.p99ms, haveP99 = v*1000, true
			}
		case section == "Status code distribution:" && len(f) >= 2:
			code, err1 := strconv.Atoi(strings.Trim(f[0], "[]"))
			num, err2 := strconv.Atoi(f[1])
			if err1 != nil || err2 != nil {
				return h, fmt.Errorf("hey: unreadable status line %q", line)
			}
			h.codes[code] += num
			if code < 200 || code > 299 {
				h.errors += num
			}
		case section == "Error distribution:" && len(f) >= 1:
			num, err := strconv.Atoi(strings.Trim(f[0], "[]"))
			if err != nil {
				return h, fmt.Errorf("hey: unreadable error line %q", line)
			}
			h.errors += num
		}
	}
	if !haveRPS || (percentiles && (!haveP50 || !haveP99)) || h.seconds <= 0 || len(h.codes)+h.errors == 0 {
		return h, fmt.Errorf("hey: could not read the summary:\n%s", out)
	}
	return h, nil
}

// findPgbench looks on PATH, then in Debian's per-version directories.
func findPgbench() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench"); len(m) > 0 {
		return m[len(m)-1], nil
	}
	return "", fmt.Errorf("the api floor needs pgbench (Debian: apt-get install postgresql-client)")
}

// pgbenchSQL turns $1, $2, ... into pgbench variables (sent as parameters
// of the prepared statement under -M prepared) on one line, as pgbench
// scripts want.
func pgbenchSQL(sql string, vars ...string) string {
	sql = placeholder.ReplaceAllStringFunc(sql, func(p string) string {
		if i, _ := strconv.Atoi(p[1:]); i >= 1 && i <= len(vars) {
			return ":" + vars[i-1]
		}
		return p
	})
	return squash(sql) + ";\n"
}

var placeholder = regexp.MustCompile(`\$[0-9]+`)

// runPgbench runs the statements as one transaction script at
// apiConnections clients for d and returns the tps and pgbench's own CPU
// seconds.
func runPgbench(ctx context.Context, bin, dbURL, dir, name string, d time.Duration, vars map[string]string, stmts ...string) (float64, float64, error) {
	script := filepath.Join(dir, name+".sql")
	if err := os.WriteFile(script, []byte(strings.Join(stmts, "")), 0o600); err != nil {
		return 0, 0, err
	}
	args := []string{"-M", "prepared", "-c", strconv.Itoa(apiConnections), "-j", "2", "-T", strconv.Itoa(int(d.Seconds())), "-n", "-f", script}
	for k, v := range vars {
		args = append(args, "-D", k+"="+v)
	}
	cmd := exec.CommandContext(ctx, bin, append(args, dbURL)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("pgbench %s: %w\n%s", name, err, out)
	}
	tps, err := parsePgbench(string(out))
	return tps, (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), err
}

// parsePgbench reads "tps = N (without initial connection time)" and
// refuses a run with failed transactions.
func parsePgbench(out string) (float64, error) {
	tps := -1.0
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "number of failed transactions: "); ok && !strings.HasPrefix(v, "0 ") {
			return 0, fmt.Errorf("pgbench: failed transactions: %s", v)
		}
		if v, ok := strings.CutPrefix(line, "tps = "); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				tps, _ = strconv.ParseFloat(f[0], 64)
			}
		}
	}
	if tps <= 0 {
		return 0, fmt.Errorf("pgbench: no tps in:\n%s", out)
	}
	return tps, nil
}

// procCPU is a process's user+system CPU seconds so far (/proc/PID/stat,
// at the kernel's usual 100 ticks a second).
func procCPU(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may contain spaces; the fields after it do not.
	s := string(raw)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// cpuSplit measures, over a run, the CPU seconds the machine spent
// (busy), the bench database's Postgres backends spent (sampled every
// 250 ms, so a backend that exits loses at most its last 250 ms) and this
// process spent.
type cpuSplit struct {
	idle0, all0 uint64
	self0       float64
	cancel      context.CancelFunc
	done        chan float64
}

func (e *env) startCPUSplit(ctx context.Context) *cpuSplit {
	c := &cpuSplit{self0: procCPU(os.Getpid()), done: make(chan float64, 1)}
	c.idle0, c.all0 = machineCPU()
	wctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	go func() {
		start, last := map[int]float64{}, map[int]float64{}
		sample := func(ctx context.Context, first bool) {
			rows, err := e.db.Pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
			if err != nil {
				return
			}
			pids, _ := pgx.CollectRows(rows, pgx.RowTo[int])
			for _, p := range pids {
				v := procCPU(p)
				if v == 0 {
					continue
				}
				if _, ok := start[p]; !ok {
					start[p] = 0 // born during the run: all its CPU counts
					if first {
						start[p] = v
					}
				}
				last[p] = v
			}
		}
		sample(wctx, true)
		for {
			select {
			case <-wctx.Done():
				sample(ctx, false) // the backends still alive, up to now
				var sum float64
				for p, v := range last {
					sum += v - start[p]
				}
				c.done <- sum
				return
			case <-time.After(250 * time.Millisecond):
				sample(wctx, false)
			}
		}
	}()
	return c
}

func (c *cpuSplit) stop() (busy, pg, self float64) {
	idle1, all1 := machineCPU()
	self = procCPU(os.Getpid()) - c.self0
	c.cancel()
	pg = <-c.done
	return float64((all1-c.all0)-(idle1-c.idle0)) / 100, pg, self
}

// machineCPU is the idle and total jiffies of all CPUs (/proc/stat).
func machineCPU() (idle, total uint64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 1
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	// user nice system idle iowait irq softirq steal (guest time is
	// already counted in user and nice).
	f := strings.Fields(line)
	for i := 1; i < len(f) && i <= 8; i++ {
		v, _ := strconv.ParseUint(f[i], 10, 64)
		total += v
		if i == 4 || i == 5 {
			idle += v
		}
	}
	return idle, total
}
