package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/testenv"
	"github.com/nurture-sms/nurture/workflows"
)

var syncLimited = true

// syncBench: N records through the emulator into Postgres by a real worker
// process (./bin/worker), once at Airtable's 5 req/s (floor N/500 s) and
// once with the limit off; then flatN records with the limit off, to show
// the worker's memory does not grow with the base. The worker's peak RSS is
// read from /proc.
func (e *env) syncBench(ctx context.Context, tc client.Client, hostPort string, n, flatN int) error {
	emu := airtableemu.New(airtableemu.Options{Penalty: 30 * time.Second})
	srv := httptest.NewServer(emu.Handler())
	defer srv.Close()
	type run struct {
		limited bool
		records int
	}
	runs := []run{{true, n}, {false, n}}
	if !syncLimited {
		runs = runs[1:]
	}
	if flatN > 0 {
		runs = append(runs, run{false, flatN})
	}
	for i, r := range runs {
		if err := e.syncOnce(ctx, tc, hostPort, emu, srv.URL, fmt.Sprintf("appBenchSync%05d", i), r.limited, r.records); err != nil {
			return err
		}
	}
	return nil
}

// syncOnce seeds a base of n records and syncs it with a fresh worker.
func (e *env) syncOnce(ctx context.Context, tc client.Client, hostPort string, emu *airtableemu.Emulator, url, base string, limited bool, n int) error {
	fields := make([]map[string]any, n)
	for i := range fields {
		fields[i] = map[string]any{
			airtableemu.FieldFirstName: fmt.Sprintf("Lead%d", i), airtableemu.FieldPhone: fmt.Sprintf("+1555%07d", i),
			airtableemu.FieldEmail: fmt.Sprintf("l%d@example.com", i), airtableemu.FieldTags: []any{"webinar", "vip"},
			airtableemu.FieldICPScore: float64(i % 101), airtableemu.FieldEngagement: "high", airtableemu.FieldStatus: "new",
			airtableemu.FieldTimezone: "America/New_York",
		}
	}
	if _, err := emu.CreateBase(base, "bench", airtableemu.LeadsSpec()); err != nil {
		return err
	}
	if _, err := emu.SeedFields(base, "Leads", fields); err != nil {
		return err
	}
	rate := "0"
	emu.SetRateLimit(0)
	if limited {
		rate = "5"
		emu.SetRateLimit(5)
	}
	emu.ResetStats()
	cl, err := e.st.CreateClient(ctx, store.NewClient{Name: "sync-bench-" + base, Timezone: "UTC", AirtableBaseID: base, AirtableTable: "Leads"}, "bench")
	if err != nil {
		return err
	}
	queue := "bench-sync-" + base
	w := exec.Command(filepath.Join(testenv.RepoRoot(), "bin", "worker"))
	w.Env = append(os.Environ(), "DATABASE_URL="+e.db.URL, "TEMPORAL_ADDRESS="+hostPort, "TEMPORAL_TASK_QUEUE="+queue,
		"WORKER_METRICS_ADDR=127.0.0.1:0", "LOG_LEVEL=error", "AIRTABLE_BASE_URL="+url+"/v0", "AIRTABLE_RATE_PER_SECOND="+rate)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker (make build first): %w", err)
	}
	syncID := uuid.New()
	wfID := workflows.SyncWorkflowID(cl.ID.String())
	if err := e.st.CreateSyncRun(ctx, syncID, cl.ID, wfID); err != nil {
		return err
	}
	start := time.Now()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: queue}, workflows.AirtableSync,
		workflows.SyncInput{SyncID: syncID.String(), ClientID: cl.ID.String(), BaseID: base, Table: "Leads"})
	if err != nil {
		_ = w.Process.Kill()
		return err
	}
	var st workflows.SyncStatus
	err = run.Get(ctx, &st)
	secs := time.Since(start).Seconds()
	rss := peakRSSMB(w.Process.Pid)
	_ = w.Process.Signal(os.Interrupt)
	_ = w.Wait()
	if err != nil {
		return err
	}
	if st.Phase != store.SyncCompleted || st.Counts.Created != n {
		return fmt.Errorf("sync ended %s with %d created (%s)", st.Phase, st.Counts.Created, st.Error)
	}
	floor := float64(n) / 500
	line := fmt.Sprintf("sync: records=%d seconds=%.2f records_per_s=%.0f", n, secs, float64(n)/secs)
	if limited {
		line += fmt.Sprintf(" rate_floor_s=%.1f ratio_to_floor=%.3f", floor, secs/floor)
	} else {
		line += " rate_limit=off"
	}
	fmt.Printf("%s peak_rss_mb=%.0f http_429=%d pages=%d\n", line, rss, emu.Stats().RateLimited, st.Pages)
	return nil
}

// peakRSSMB reads VmHWM of a process.
func peakRSSMB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}
