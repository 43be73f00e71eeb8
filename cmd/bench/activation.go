package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nurture-sms/nurture/internal/store"
)

const (
	activationWindow   = 30 * time.Second
	activationLeads    = 10               // per campaign, each on its own tag
	activationMinAhead = 2 * time.Second  // no campaign is created closer than this to its start_at
	activationLead     = 10 * time.Second // from the first POST to the window's start
	activationWait     = 90 * time.Second // after the window, for the last activations
	activationCreators = 4                // concurrent POSTs
)

// activation: n campaigns created through the API (POST /v1/campaigns,
// super_admin token) with start_at spread uniformly over a 30 s window,
// each over its own tag of 10 leads so no two compete for a lead, run by
// the in-process worker. Lateness = activated_at - start_at from the
// campaigns row (both stamped by Postgres' and this machine's clock). The
// window starts activationLead after the first POST, which is after the
// last POST has returned when creation takes less than that (the line says
// which: window_start=after_creation+Xs or during_creation).
func (e *env) activation(ctx context.Context, n int) error {
	cid, err := e.client(ctx, "activation-bench")
	if err != nil {
		return err
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO leads (client_id, airtable_record_id, first_name, phone, tags)
		SELECT $1::uuid, 'rec' || g, 'Lead' || g, '+1555' || lpad(g::text, 7, '0'), ARRAY['act' || (g % $2::int)]
		FROM generate_series(1, $2::int * $3::int) g`, cid, n, activationLeads); err != nil {
		return err
	}
	if _, err := e.db.Pool.Exec(ctx, `ANALYZE leads`); err != nil {
		return err
	}

	// Created activationCreators at a time (in start_at order): each POST
	// commits a few times, so on a disk with slow fsyncs one at a time can
	// take longer than the window.
	createStart := time.Now()
	windowStart := createStart.Add(activationLead)
	minAhead := time.Duration(1<<63 - 1)
	var createLat []time.Duration
	var mu sync.Mutex
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range activationCreators {
		g.Go(func() error {
			for gctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				startAt := windowStart.Add(time.Duration(i) * activationWindow / time.Duration(n))
				t0 := time.Now()
				ahead := startAt.Sub(t0)
				mu.Lock()
				minAhead = min(minAhead, ahead)
				mu.Unlock()
				if ahead < activationMinAhead {
					return fmt.Errorf("creation too slow: campaign %d of %d would be created %v before its start_at (machine busy? raise activationLead)", i, n, ahead)
				}
				resp, body, err := e.post("/v1/campaigns", map[string]any{"client_id": cid, "name": fmt.Sprintf("activation %03d", i),
					"target_tags": []string{fmt.Sprintf("act%d", i)}, "messages": []map[string]any{{"body": "Hi {{first_name}}"}},
					"start_at": startAt.UTC().Format(time.RFC3339Nano)})
				if err != nil {
					return err
				}
				if resp.StatusCode != 201 {
					return fmt.Errorf("create campaign %d: %d %s", i, resp.StatusCode, body)
				}
				var c store.Campaign
				if err := json.Unmarshal(body, &c); err != nil || c.Status != "scheduled" {
					return fmt.Errorf("create campaign %d: status %q %v", i, c.Status, err)
				}
				mu.Lock()
				createLat = append(createLat, time.Since(t0))
				mu.Unlock()
			}
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	createEnd := time.Now()
	where := fmt.Sprintf("after_creation+%.1fs", windowStart.Sub(createEnd).Seconds())
	if createEnd.After(windowStart) {
		where = "during_creation"
	}

	// Over the window: machine idle time (the bench itself needs little
	// CPU here, so a low figure means other work was sharing the cores) and
	// the latency of a one-row commit every 250 ms (each activation commits
	// three times; on this VM a commit's WAL fsync can take hundreds of ms
	// when other work writes to the disk).
	if _, err := e.db.Pool.Exec(ctx, `CREATE TABLE bench_commit_probe (n bigint); INSERT INTO bench_commit_probe VALUES (0)`); err != nil {
		return err
	}
	time.Sleep(time.Until(windowStart))
	idle0, all0 := machineCPU()
	var commits []time.Duration
	for time.Now().Before(windowStart.Add(activationWindow)) {
		t0 := time.Now()
		if _, err := e.db.Pool.Exec(ctx, `UPDATE bench_commit_probe SET n = n + 1`); err != nil {
			return err
		}
		commits = append(commits, time.Since(t0))
		time.Sleep(250*time.Millisecond - time.Since(t0))
	}
	idle1, all1 := machineCPU()
	slices.Sort(commits)

	// Wait until every campaign is past scheduled/activating (activated, or
	// failed activation), or give up activationWait after the window.
	deadline := windowStart.Add(activationWindow + activationWait)
	for {
		var pending int
		if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM campaigns
			WHERE client_id = $1 AND activated_at IS NULL AND status IN ('scheduled', 'activating')`, cid).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	var wrongAudience int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM campaigns WHERE client_id = $1 AND activated_at IS NOT NULL AND matched_count <> $2`,
		cid, activationLeads).Scan(&wrongAudience); err != nil {
		return err
	}
	if wrongAudience > 0 {
		return fmt.Errorf("%d campaigns did not match exactly their %d leads", wrongAudience, activationLeads)
	}
	rows, err := e.db.Pool.Query(ctx, `SELECT extract(epoch FROM activated_at - start_at) * 1000 FROM campaigns
		WHERE client_id = $1 AND activated_at IS NOT NULL`, cid)
	if err != nil {
		return err
	}
	var late []float64
	for rows.Next() {
		var ms float64
		if err := rows.Scan(&ms); err != nil {
			rows.Close()
			return err
		}
		late = append(late, ms)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	failed := n - len(late)
	if len(late) == 0 {
		return fmt.Errorf("no campaign activated (%d failed)", failed)
	}
	sort.Float64s(late)
	sort.Slice(createLat, func(i, j int) bool { return createLat[i] < createLat[j] })
	fmt.Printf("activation: campaigns=%d window_s=%.0f lateness_p50_ms=%.0f lateness_p99_ms=%.0f max_ms=%.0f min_ms=%.0f failed=%d window_start=%s create_s=%.2f create_concurrency=%d create_p50_ms=%.1f min_ahead_s=%.1f machine_idle_pct=%.0f commit_p50_ms=%.1f commit_max_ms=%.1f\n",
		n, activationWindow.Seconds(), late[len(late)/2], late[len(late)*99/100], late[len(late)-1], late[0], failed,
		where, createEnd.Sub(createStart).Seconds(), activationCreators, ms(createLat[len(createLat)/2]), minAhead.Seconds(),
		100*float64(idle1-idle0)/float64(all1-all0), ms(commits[len(commits)/2]), ms(commits[len(commits)-1]))
	return nil
}
