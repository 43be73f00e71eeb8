// Command bench measures Nurture on this machine and prints one line per
// figure as `name: key=value ...`. It starts its own database and Temporal
// dev server (from ./bin/temporal), an in-process worker and API; the sync
// figures add a bin/worker process, the api figure a cmd/api process loaded
// by ./bin/hey and a pgbench floor.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/auth"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/testenv"
	"github.com/nurture-sms/nurture/workflows"
)

func main() {
	enrollN := flag.Int("enroll-leads", 100000, "eligible leads for the enroll figure (0 skips it and the schedule figure)")
	pageN := flag.Int("page-leads", 1000000, "leads for the leads_page figure (0 skips it)")
	syncN := flag.Int("sync-records", 50000, "Airtable records for the sync figures (0 skips them)")
	flatN := flag.Int("sync-flat-records", 200000, "records for the extra limit-off sync line that shows flat worker memory (0 skips it)")
	flag.BoolVar(&syncLimited, "sync-limited", true, "also run the sync at Airtable's 5 req/s (false: only with the limit off)")
	apiN := flag.Int("api-leads", 1000000, "leads for the api figure: a cmd/api process under hey, against a pgbench floor (0 skips it)")
	apiDur := flag.Duration("api-duration", 15*time.Second, "how long hey (and each pgbench floor) runs for the api figure, after a 3 s warm-up")
	actN := flag.Int("activation-campaigns", 200, "scheduled campaigns for the activation figure (0 skips it)")
	sendN := flag.Int("send-leads", 100000, "leads x 1 step for the send figure with the rate off (0 skips the send figures)")
	sendRatedN := flag.Int("send-rated-leads", 10000, "leads for the send figures at a configured rate and with a spread second step")
	sendRate := flag.Float64("send-rate", 200, "the configured messages per second of the rated send figure")
	flag.IntVar(&incrCfg.records, "sync-incremental-records", 50000, "base records for the sync_incremental figure (0 skips it)")
	flag.IntVar(&incrCfg.changed, "sync-incremental-changed", 100, "records changed in the emulator for the sync_incremental figure")
	only := flag.String("only", "", "comma-separated figures to run, skipping the others: enroll (with schedule), sync, sync_incremental, leads_page, api, activation, send")
	flag.Parse()
	if *only != "" {
		want := map[string]bool{}
		for _, f := range strings.Split(*only, ",") {
			want[strings.TrimSpace(f)] = true
		}
		for name, n := range map[string]*int{"enroll": enrollN, "sync": syncN, "leads_page": pageN, "api": apiN, "activation": actN, "send": sendN,
			"sync_incremental": &incrCfg.records} {
			if !want[name] {
				*n = 0
			}
			delete(want, name)
		}
		if len(want) > 0 {
			fmt.Fprintf(os.Stderr, "bench: -only names unknown figures %v\n", slices.Sorted(maps.Keys(want)))
			os.Exit(2)
		}
	}
	sendCfg = sendConfig{flood: *sendN, rated: *sendRatedN, rate: *sendRate}
	if *sendN == 0 {
		sendCfg.rated = 0
	}
	if err := run(*enrollN, *pageN, *syncN, *flatN, *apiN, *apiDur, *actN); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type env struct {
	db       *testenv.Database
	st       *store.Store
	api      *httptest.Server
	token    string
	temporal client.Client
}

func run(enrollN, pageN, syncN, flatN, apiN int, apiDur time.Duration, actN int) error {
	ctx := context.Background()
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
	st := store.New(db.Pool)
	w := worker.New(srv.Client(), workflows.TaskQueue, worker.Options{})
	workflows.Register(w, &activities.Campaign{Store: st, Log: zap.NewNop()},
		&activities.Alerts{Store: st, Sinks: []activities.AlertSink{activities.LogSink{Log: zap.NewNop()}}}, &activities.Draft{Store: st}, &activities.Sync{Store: st})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	h := httptest.NewServer(api.Router(api.Deps{Store: st, Temporal: srv.Client(), Logger: zap.NewNop(), TaskQueue: workflows.TaskQueue}))
	defer h.Close()
	_, tok, err := st.CreateToken(ctx, store.NewToken{Role: auth.RoleSuperAdmin}, "bench")
	if err != nil {
		return err
	}
	e := &env{db: db, st: st, api: h, token: tok, temporal: srv.Client()}
	if enrollN > 0 {
		if err := e.enroll(ctx, enrollN); err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
		if err := e.schedule(ctx); err != nil {
			return fmt.Errorf("schedule: %w", err)
		}
	}
	if actN > 0 {
		if err := e.activation(ctx, actN); err != nil {
			return fmt.Errorf("activation: %w", err)
		}
	}
	if syncN > 0 {
		if err := e.syncBench(ctx, srv.Client(), srv.FrontendHostPort(), syncN, flatN); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if pageN > 0 {
		if err := e.leadsPage(ctx, pageN); err != nil {
			return fmt.Errorf("leads_page: %w", err)
		}
	}
	if apiN > 0 {
		if err := e.apiBench(ctx, srv.FrontendHostPort(), apiN, apiDur); err != nil {
			return fmt.Errorf("api: %w", err)
		}
	}
	if incrCfg.records > 0 && incrCfg.changed > 0 {
		if err := e.incrementalBench(ctx, srv.Client(), incrCfg.records, incrCfg.changed); err != nil {
			return fmt.Errorf("sync_incremental: %w", err)
		}
	}
	if sendCfg.flood > 0 || sendCfg.rated > 0 {
		if err := e.sendBench(ctx, srv.FrontendHostPort(), sendCfg.flood, sendCfg.rated, sendCfg.rate); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	return nil
}

type sendConfig struct {
	flood, rated int
	rate         float64
}

var sendCfg sendConfig

func (e *env) client(ctx context.Context, name string) (uuid.UUID, error) {
	c, err := e.st.CreateClient(ctx, store.NewClient{Name: name, Timezone: "UTC", AirtableTable: "Leads"}, "bench")
	return c.ID, err
}

func (e *env) post(path string, body any) (*http.Response, []byte, error) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.api.URL+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp, buf.Bytes(), nil
}

func (e *env) getCampaign(id string) (store.Campaign, error) {
	req, _ := http.NewRequest("GET", e.api.URL+"/v1/campaigns/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return store.Campaign{}, err
	}
	defer resp.Body.Close()
	var c store.Campaign
	return c, json.NewDecoder(resp.Body).Decode(&c)
}

// enroll: the whole campaign through the API and Temporal, against the
// seed's per-lead algorithm and the bare-SQL floor on the same leads.
func (e *env) enroll(ctx context.Context, n int) error {
	// Three clients with identical leads: one for the floor, one for the
	// real campaign, one for the baseline, so no run sees another's rows.
	var cids [3]uuid.UUID
	for i, name := range []string{"enroll-floor", "enroll-real", "enroll-baseline"} {
		id, err := e.client(ctx, name)
		if err != nil {
			return err
		}
		cids[i] = id
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, tags, icp_score, engagement_level)
			SELECT $1::uuid, 'rec' || g, ARRAY['bench'], g % 101, 'high' FROM generate_series(1, $2) g`, id, n); err != nil {
			return err
		}
	}
	if _, err := e.db.Pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return err
	}
	if _, err := e.db.Pool.Exec(ctx, `CHECKPOINT`); err != nil {
		return err
	}

	// Floor: the claim as one bare statement over every eligible lead
	// (same conditions, locks and conflict handling as store.EnrollBatch).
	floorClient := cids[0]
	var scratch uuid.UUID
	if err := e.db.Pool.QueryRow(ctx, `INSERT INTO campaigns (client_id, name, workflow_id, status) VALUES ($1, 'scratch', 'none', 'enrolling') RETURNING id`, floorClient).Scan(&scratch); err != nil {
		return err
	}
	floorStart := time.Now()
	var floorN int
	err := pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `WITH cand AS (
				SELECT l.id FROM leads l WHERE l.client_id = $1 AND l.deleted_at IS NULL AND NOT l.sms_stop AND NOT l.booked
				  AND l.status IN ('new','contacted','engaged') AND l.tags && ARRAY['bench']
				  AND NOT EXISTS (SELECT 1 FROM campaign_enrollments e WHERE e.lead_id = l.id AND e.status = 'active')
				ORDER BY l.id
			), ins AS (
				INSERT INTO campaign_enrollments (campaign_id, lead_id, client_id, next_send_at)
				SELECT $2, id, $1, now() FROM cand ON CONFLICT DO NOTHING RETURNING 1
			) SELECT count(*) FROM ins`, floorClient, scratch).Scan(&floorN); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE campaigns SET enrolled_count = $2 WHERE id = $1`, scratch, floorN)
		return err
	})
	floor := time.Since(floorStart).Seconds()
	if err != nil {
		return err
	}
	if floorN != n {
		return fmt.Errorf("floor claimed %d of %d", floorN, n)
	}

	// The real thing: POST to active through the API and Temporal.
	start := time.Now()
	resp, body, err := e.post("/v1/campaigns", map[string]any{"client_id": cids[1], "name": "bench", "target_tags": []string{"bench"},
		"messages": []map[string]any{{"body": "Hi {{first_name}}"}}})
	if err != nil {
		return err
	}
	if resp.StatusCode != 201 {
		return fmt.Errorf("create: %d %s", resp.StatusCode, body)
	}
	var c store.Campaign
	_ = json.Unmarshal(body, &c)
	for {
		got, err := e.getCampaign(c.ID.String())
		if err != nil {
			return err
		}
		if got.Status == "active" {
			c = got
			break
		}
		if time.Since(start) > 10*time.Minute {
			return fmt.Errorf("campaign stuck in %s", got.Status)
		}
		time.Sleep(25 * time.Millisecond)
	}
	secs := time.Since(start).Seconds()
	if c.EnrolledCount != n {
		return fmt.Errorf("enrolled %d of %d", c.EnrolledCount, n)
	}

	// Baseline: the seed's loop — per lead an advisory lock, an eligibility
	// SELECT and a write, all in one transaction (rolled back afterwards).
	baseClient := cids[2]
	if err := e.db.Pool.QueryRow(ctx, `INSERT INTO campaigns (client_id, name, workflow_id, status) VALUES ($1, 'scratch', 'none', 'enrolling') RETURNING id`, baseClient).Scan(&scratch); err != nil {
		return err
	}
	baseStart := time.Now()
	err = pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM leads WHERE client_id = $1 AND tags && ARRAY['bench'] ORDER BY id`, baseClient)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		// Session-level locks released as the next one is taken (one round
		// trip): 100,000 transaction-level locks would not fit the lock table.
		prev := ""
		for _, id := range ids {
			key := baseClient.String() + "-" + id.String()
			if _, err := tx.Exec(ctx, `SELECT CASE WHEN $1 <> '' THEN pg_advisory_unlock(hashtext($1)) END, pg_advisory_lock(hashtext($2))`, prev, key); err != nil {
				return err
			}
			prev = key
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM leads l WHERE l.id = $1 AND l.deleted_at IS NULL AND NOT l.sms_stop AND NOT l.booked
				AND l.status IN ('new','contacted','engaged')
				AND NOT EXISTS (SELECT 1 FROM campaign_enrollments e WHERE e.lead_id = l.id AND e.status = 'active'))`, id).Scan(&ok); err != nil {
				return err
			}
			if ok {
				if _, err := tx.Exec(ctx, `INSERT INTO campaign_enrollments (campaign_id, lead_id, client_id, next_send_at) VALUES ($1, $2, $3, now())`, scratch, id, baseClient); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, prev); err != nil {
			return err
		}
		return errRollback
	})
	baseSecs := time.Since(baseStart).Seconds()
	if err != errRollback {
		return err
	}

	rate := float64(n) / secs
	baseRate := float64(n) / baseSecs
	// Where the time went, from the row's own timestamps.
	toActivate := c.ActivatedAt.Sub(c.CreatedAt).Seconds()
	enrolling := c.UpdatedAt.Sub(*c.ActivatedAt).Seconds()
	fmt.Printf("enroll: leads=%d seconds=%.2f leads_per_s=%.0f baseline_per_s=%.0f speedup=%.1f db_floor_s=%.2f ratio_to_floor=%.2f create_to_activated_s=%.2f activated_to_active_s=%.2f\n",
		n, secs, rate, baseRate, rate/baseRate, floor, secs/floor, toActivate, enrolling)
	return nil
}

var errRollback = fmt.Errorf("rollback")

// schedule: how late a campaign scheduled 3 s ahead activates.
func (e *env) schedule(ctx context.Context) error {
	cid, err := e.client(ctx, "schedule-bench")
	if err != nil {
		return err
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, tags) SELECT $1::uuid, 'rec' || g, ARRAY['s'] FROM generate_series(1, 100) g`, cid); err != nil {
		return err
	}
	startAt := time.Now().Add(3 * time.Second)
	resp, body, err := e.post("/v1/campaigns", map[string]any{"client_id": cid, "name": "sched", "target_tags": []string{"s"},
		"messages": []map[string]any{{"body": "Hi"}}, "start_at": startAt.UTC().Format(time.RFC3339Nano)})
	if err != nil || resp.StatusCode != 201 {
		return fmt.Errorf("create: %v %s", err, body)
	}
	var c store.Campaign
	_ = json.Unmarshal(body, &c)
	for {
		got, err := e.getCampaign(c.ID.String())
		if err != nil {
			return err
		}
		if got.ActivatedAt != nil && got.Status == "active" {
			fmt.Printf("schedule: ahead_s=3 activation_lag_ms=%d active_lag_ms=%d\n",
				got.ActivatedAt.Sub(startAt).Milliseconds(), time.Since(startAt).Milliseconds())
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leadsPage: GET /v1/leads page latency (first page and deep keyset pages)
// over a client with many leads.
func (e *env) leadsPage(ctx context.Context, n int) error {
	cid, err := e.client(ctx, "page-bench")
	if err != nil {
		return err
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, tags, status, created_at)
		SELECT $1::uuid, 'rec' || g, CASE WHEN g % 10 = 0 THEN ARRAY['vip'] ELSE ARRAY['cold'] END,
		       (ARRAY['new','contacted','engaged'])[1 + g % 3], now() - make_interval(secs => g)
		FROM generate_series(1, $2) g`, cid, n); err != nil {
		return err
	}
	if _, err := e.db.Pool.Exec(ctx, `VACUUM ANALYZE leads`); err != nil {
		return err
	}
	_, tok, err := e.st.CreateToken(ctx, store.NewToken{Role: auth.RoleClientViewer, ClientID: &cid}, "bench")
	if err != nil {
		return err
	}
	for _, q := range []string{"limit=50", "limit=500", "limit=50&status=engaged", "limit=50&tag=vip"} {
		var lat []time.Duration
		cursor := ""
		for i := 0; i < 200; i++ {
			url := e.api.URL + "/v1/leads?" + q
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			t0 := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			var page struct {
				NextCursor *string `json:"next_cursor"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				return fmt.Errorf("page: %d %v", resp.StatusCode, err)
			}
			lat = append(lat, time.Since(t0))
			if page.NextCursor != nil {
				cursor = *page.NextCursor
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Printf("leads_page: leads=%d query=%q pages=%d p50_ms=%.2f p99_ms=%.2f\n", n, q, len(lat),
			ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
