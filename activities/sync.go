package activities

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/mehanizm/airtable"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/airtablefields"
	"github.com/nurture-sms/nurture/internal/lead"
	"github.com/nurture-sms/nurture/internal/sms"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/tz"
)

// Sync holds the Airtable sync activities' dependencies.
type Sync struct {
	Store   *store.Store
	Log     *zap.Logger
	APIKey  string
	BaseURL string // e.g. https://api.airtable.com/v0 or the emulator's /v0
	// RatePerSecond per base across all workers (Airtable: 5; 0 = unlimited).
	RatePerSecond float64
	// Penalty is how long a 429 makes the base wait (Airtable: 30 s).
	Penalty time.Duration
	// PublicBaseURL is where Airtable reaches Nurture (webhook notifications).
	PublicBaseURL string
	// TasksChanged has the client's task sync run (the worker sets it): an
	// incremental apply found tasks whose records were destroyed in
	// Airtable, to be created again.
	TasksChanged func(ctx context.Context, clientID uuid.UUID, clientName string) error

	mu      sync.Mutex
	clients map[string]*airtable.Client
}

// Error types of the sync that are not retried.
const (
	ErrTypeAirtableRejected = "AirtableRejected"
	ErrTypeIteratorExpired  = "IteratorExpired"
	// ErrTypeSchema: the table lacks a column the client's mapping names.
	ErrTypeSchema = "SchemaMismatch"
)

// fields loads the client's Airtable column mapping.
func (a *Sync) fields(ctx context.Context, clientID uuid.UUID) (airtablefields.Mapping, error) {
	cl, err := a.Store.GetClient(ctx, clientID)
	if err != nil {
		return airtablefields.Mapping{}, err
	}
	m, err := cl.Fields()
	if err != nil {
		return m, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeSchema, err)
	}
	return m, nil
}

// SchemaInput names the table a sync is about to list.
type SchemaInput struct {
	ClientID, BaseID, Table string
}

// CheckSchema reads the base's schema (GET /v0/meta/bases/{base}/tables)
// and fails, naming them, when the table or a column of the client's
// mapping is missing: a renamed column must stop the sync, never read as
// empty (an opt-out as false) for every record.
func (a *Sync) CheckSchema(ctx context.Context, in SchemaInput) error {
	clientID, err := parseID("client id", in.ClientID)
	if err != nil {
		return err
	}
	m, err := a.fields(ctx, clientID)
	if err != nil {
		return err
	}
	if err := a.pace(ctx, in.BaseID); err != nil {
		return err
	}
	tables, err := a.client().GetBaseSchema(in.BaseID).DoContext(ctx)
	var he *airtable.HTTPClientError
	switch {
	case errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests:
		if perr := a.penalize(ctx, in.BaseID, func() { activity.RecordHeartbeat(ctx) }); perr != nil {
			return perr
		}
		return fmt.Errorf("read schema: %w", err) // retried after the penalty
	case errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("airtable refused the schema request: %d", he.StatusCode), ErrTypeAirtableRejected, err)
	case err != nil:
		return fmt.Errorf("read schema: %w", err)
	}
	for _, t := range tables.Tables {
		if t.Name != in.Table && t.ID != in.Table {
			continue
		}
		cols := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			cols[i] = f.Name
		}
		if missing := m.Missing(cols); len(missing) > 0 {
			return temporal.NewNonRetryableApplicationError("table "+strconv.Quote(in.Table)+" has no column for "+strings.Join(missing, ", "), ErrTypeSchema, nil)
		}
		return nil
	}
	return temporal.NewNonRetryableApplicationError("base "+in.BaseID+" has no table "+strconv.Quote(in.Table), ErrTypeSchema, nil)
}

func (a *Sync) client() *airtable.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.clients == nil {
		a.clients = map[string]*airtable.Client{}
	}
	c, ok := a.clients[""]
	if !ok {
		c = airtable.NewClient(a.APIKey)
		// Pacing is ours (per base, across workers): the client's own ticker is set out of the way.
		c.SetRateLimit(1000)
		if a.BaseURL != "" {
			_ = c.SetBaseURL(strings.TrimRight(a.BaseURL, "/"))
		}
		c.SetCustomClient(&http.Client{Timeout: 30 * time.Second})
		a.clients[""] = c
	}
	return c
}

// pace waits for this worker's slot in the base's shared schedule.
func (a *Sync) pace(ctx context.Context, base string) error {
	if a.RatePerSecond <= 0 {
		return nil
	}
	wait, err := a.Store.ReserveAirtableSlot(ctx, base, time.Duration(float64(time.Second)/a.RatePerSecond))
	if err != nil || wait <= 0 {
		return err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ListInput asks for a stretch of the listing.
type ListInput struct {
	SyncID, ClientID, BaseID, Table string
	Offset                          string // "" = from the start
	Budget                          time.Duration
}

// ListResult is where the stretch stopped.
type ListResult struct {
	Offset    string // next page's offset; "" with Done
	Done      bool   // Airtable returned a page without an offset
	Pages     int
	Records   int
	Restarted int // expired iterators that restarted the listing
	Waited429 int
}

type listPos struct {
	Done      bool
	Offset    string
	Pages     int
	Records   int
	Restarted int
	Waited429 int
}

// ListPages fetches and upserts pages until the budget is spent or the
// listing ends. Fetching runs one page ahead of the upserts (HTTP and
// Postgres overlap). Each page is one transaction; the offset after the
// last upserted page is heartbeated, so a retry resumes at the next page. A
// 429 waits out the penalty and retries the page; an expired iterator
// (LIST_RECORDS_ITERATOR_NOT_AVAILABLE) restarts the listing from the start
// (upserts are idempotent and the counts are derived from the rows, so they
// stay exact); other 4xx are not retried.
func (a *Sync) ListPages(ctx context.Context, in ListInput) (ListResult, error) {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return ListResult{}, err
	}
	fields, err := a.fields(ctx, clientID)
	if err != nil {
		return ListResult{}, err
	}
	pos := listPos{Offset: in.Offset}
	if activity.HasHeartbeatDetails(ctx) {
		var hb listPos
		if err := activity.GetHeartbeatDetails(ctx, &hb); err == nil {
			pos = hb
		}
	}
	result := func() ListResult {
		return ListResult{Offset: pos.Offset, Done: pos.Done, Pages: pos.Pages, Records: pos.Records,
			Restarted: pos.Restarted, Waited429: pos.Waited429}
	}
	if pos.Done {
		return result(), nil // finished before a crash: nothing left
	}
	table := a.client().GetTable(in.BaseID, in.Table)
	deadline := time.Now().Add(in.Budget)
	// The last committed position, heartbeated also while the fetcher waits out a 429.
	var hbMu sync.Mutex
	committed := pos
	heartbeat := func() {
		hbMu.Lock()
		defer hbMu.Unlock()
		activity.RecordHeartbeat(ctx, committed)
	}

	type fetched struct {
		recs      []*airtable.Record
		next      string
		restarted int
		waited    int
		err       error
	}
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	pages := make(chan fetched, 1)
	go func() {
		defer close(pages)
		offset := pos.Offset
		for {
			f := fetched{}
			for {
				if err := a.pace(fctx, in.BaseID); err != nil {
					f.err = err
					break
				}
				q := table.GetRecords().PageSize(100)
				if offset != "" {
					q = q.WithOffset(offset)
				}
				page, err := q.Do()
				if err == nil {
					f.recs, f.next = page.Records, page.Offset
					break
				}
				var he *airtable.HTTPClientError
				switch {
				case errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests:
					f.waited++
					if err := a.penalize(fctx, in.BaseID, heartbeat); err != nil {
						f.err = err
					}
				case errors.As(err, &he) && he.StatusCode == 422 && strings.Contains(err.Error(), "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"):
					offset = ""
					f.restarted++
				case errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500:
					f.err = temporal.NewNonRetryableApplicationError(fmt.Sprintf("airtable refused the listing: %d", he.StatusCode), ErrTypeAirtableRejected, err)
				default:
					f.err = fmt.Errorf("list page: %w", err) // 5xx, network: retried from the heartbeat
				}
				if f.err != nil {
					break
				}
			}
			select {
			case pages <- f:
			case <-fctx.Done():
				return
			}
			if f.err != nil || f.next == "" || time.Now().After(deadline) {
				return
			}
			offset = f.next
		}
	}()

	// Upserts run on a few connections at once (pages are independent; the
	// counts come from the rows). The committed position only advances over
	// a contiguous run of finished pages, so a resume never skips one.
	type job struct {
		seq int
		f   fetched
	}
	jobs := make(chan job)
	type doneMsg struct {
		seq     int
		records int
		err     error
	}
	dones := make(chan doneMsg)
	const upserters = 3
	var wg sync.WaitGroup
	for range upserters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				recs, invalid := mapRecords(j.f.recs, fields)
				err := a.Store.UpsertLeadPage(ctx, syncID, clientID, recs, invalid)
				dones <- doneMsg{seq: j.seq, records: len(j.f.recs), err: err}
			}
		}()
	}
	nexts := map[int]string{}
	finished := map[int]int{}
	sent, contiguous := 0, 0
	var firstErr error
	pending := 0
	feed := pages
	onDone := func(d doneMsg) {
		pending--
		if d.err != nil {
			if firstErr == nil {
				firstErr = d.err
			}
			stop()
			return
		}
		finished[d.seq] = d.records
		for {
			r, ok := finished[contiguous]
			if !ok {
				break
			}
			pos.Pages++
			pos.Records += r
			pos.Offset = nexts[contiguous]
			pos.Done = pos.Offset == ""
			delete(finished, contiguous)
			delete(nexts, contiguous)
			contiguous++
		}
		hbMu.Lock()
		committed = pos
		hbMu.Unlock()
		heartbeat()
	}
	for feed != nil || pending > 0 {
		var out chan job
		var next job
		var have bool
		select {
		case f, ok := <-feed:
			if !ok {
				feed = nil
				continue
			}
			pos.Restarted += f.restarted
			pos.Waited429 += f.waited
			if f.err != nil {
				if firstErr == nil {
					firstErr = f.err
				}
				feed = nil
				stop()
				continue
			}
			next, have = job{seq: sent, f: f}, true
			nexts[sent] = f.next
			sent++
		case d := <-dones:
			onDone(d)
		}
		if have {
			out = jobs
			// Hand the page to an upserter, still collecting completions meanwhile.
			for out != nil {
				select {
				case out <- next:
					out = nil
					pending++
				case d := <-dones:
					onDone(d)
				}
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return ListResult{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return ListResult{}, err
	}
	return result(), nil
}

// penalize waits out a 429's penalty, and first makes every worker's next
// request for the base wait as long (Airtable's penalty is per base).
func (a *Sync) penalize(ctx context.Context, base string, beat func()) error {
	if a.RatePerSecond > 0 {
		if err := a.Store.PenalizeAirtableBase(ctx, base, a.penalty()); err != nil {
			return err
		}
	}
	return a.sleep(ctx, a.penalty(), beat)
}

func (a *Sync) penalty() time.Duration {
	if a.Penalty > 0 {
		return a.Penalty
	}
	return 30 * time.Second
}

// sleep waits d, calling beat every second, unless ctx ends.
func (a *Sync) sleep(ctx context.Context, d time.Duration, beat func()) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		t := time.NewTimer(min(time.Second, time.Until(end)))
		select {
		case <-t.C:
			if beat != nil {
				beat()
			}
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	return nil
}

// mapRecords turns Airtable records into leads, setting aside the invalid
// ones with the reason.
func mapRecords(in []*airtable.Record, m airtablefields.Mapping) ([]store.LeadRecord, []store.InvalidRecord) {
	var out []store.LeadRecord
	var bad []store.InvalidRecord
	for _, r := range in {
		l, reason := mapRecord(r, m)
		if reason != "" {
			bad = append(bad, store.InvalidRecord{RecordID: r.ID, Reason: reason})
			continue
		}
		out = append(out, l)
	}
	return out, bad
}

// mapRecord reads one record through the client's mapping. An empty cell
// is left out of Airtable's answer, so a missing checkbox reads false; the
// schema check (CheckSchema) makes sure the column itself exists.
func mapRecord(r *airtable.Record, m airtablefields.Mapping) (store.LeadRecord, string) {
	str := func(k string) string { s, _ := r.Fields[k].(string); return strings.TrimSpace(s) }
	boolean := func(k string) bool { b, _ := r.Fields[k].(bool); return b }
	l := store.LeadRecord{
		RecordID: r.ID, FirstName: str(m.FirstName), LastName: str(m.LastName),
		Phone: str(m.Phone), Email: strings.ToLower(str(m.Email)), Timezone: str(m.Timezone),
		EngagementLevel: strings.ToLower(str(m.Engagement)), Status: strings.ToLower(str(m.Status)),
		Booked: boolean(m.Booked), SMSStop: boolean(m.SMSStop),
	}
	if r.ID == "" {
		return l, "record has no id"
	}
	if !sms.ValidE164(l.Phone) {
		return l, "phone is missing or not E.164"
	}
	if l.Timezone == "" {
		l.Timezone = "UTC"
	} else if !tz.Valid(l.Timezone) {
		return l, "unknown timezone"
	}
	if l.Status == "" {
		l.Status = lead.StatusNew
	} else if !lead.ValidStatus(l.Status) {
		return l, "unknown status " + l.Status
	}
	if !lead.ValidEngagement(l.EngagementLevel) {
		l.EngagementLevel = lead.EngagementUnknown
	}
	if v, ok := r.Fields[m.ICPScore]; ok && v != nil {
		f, ok := v.(float64)
		if !ok || f < 0 || f > 100 || f != math.Trunc(f) {
			return l, "ICP score must be a whole number 0..100"
		}
		n := int(f)
		l.ICPScore = &n
	}
	if tags, ok := r.Fields[m.Tags].([]any); ok {
		seen := map[string]bool{}
		for _, t := range tags {
			s, _ := t.(string)
			s = strings.ToLower(strings.TrimSpace(s))
			if s != "" && !seen[s] {
				seen[s] = true
				l.Tags = append(l.Tags, s)
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, r.CreatedTime)
	if err != nil {
		return l, "createdTime is not a timestamp"
	}
	l.CreatedAt = t
	return l, ""
}

// VerifyInput asks whether a listing really was complete.
type VerifyInput struct {
	SyncID, ClientID, BaseID, Table string
	Sample                          int
}

// VerifyResult says whether the records missing from the listing are
// really gone from Airtable.
type VerifyResult struct {
	Missing  int
	Checked  int
	Complete bool
	Reason   string
}

// VerifyMissing fetches a sample of the records the listing did not return
// by id. If any of them still exists, the listing ended early (a truncated
// or otherwise partial answer), and nothing may be staged.
func (a *Sync) VerifyMissing(ctx context.Context, in VerifyInput) (VerifyResult, error) {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return VerifyResult{}, err
	}
	ids, total, err := a.Store.MissingSample(ctx, syncID, clientID, in.Sample)
	if err != nil {
		return VerifyResult{}, err
	}
	res := VerifyResult{Missing: total, Complete: true}
	table := a.client().GetTable(in.BaseID, in.Table)
	for i := 0; i < len(ids); i++ {
		id := ids[i]
		if err := a.pace(ctx, in.BaseID); err != nil {
			return res, err
		}
		_, err := table.GetRecordContext(ctx, id)
		var he *airtable.HTTPClientError
		switch {
		case err == nil:
			res.Checked++
			res.Complete = false
			res.Reason = fmt.Sprintf("listing incomplete: record %s is missing from the listing but still exists in Airtable", id)
			return res, nil
		case errors.As(err, &he) && he.StatusCode == http.StatusNotFound:
			res.Checked++
			activity.RecordHeartbeat(ctx, res.Checked)
		case errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests:
			checked := res.Checked
			if err := a.penalize(ctx, in.BaseID, func() { activity.RecordHeartbeat(ctx, checked) }); err != nil {
				return res, err
			}
			i-- // the same record again: a 429 proves nothing about it
		default:
			return res, fmt.Errorf("verify record %s: %w", id, err)
		}
	}
	return res, nil
}

// StageInput names a sync.
type StageInput struct {
	SyncID, ClientID string
}

// parseSyncIDs parses a sync's and its client's ids (bad input: not retried).
func parseSyncIDs(syncID, clientID string) (uuid.UUID, uuid.UUID, error) {
	s, err := parseID("sync id", syncID)
	if err != nil {
		return s, uuid.Nil, err
	}
	c, err := parseID("client id", clientID)
	return s, c, err
}

// CountSync derives exact counts from the rows.
func (a *Sync) CountSync(ctx context.Context, in StageInput) (store.SyncCounts, error) {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return store.SyncCounts{}, err
	}
	return a.Store.CountSync(ctx, syncID, clientID)
}

// WebhookCovered tells whether the client's webhook has watched its base
// since before the previous complete listing began: only then are the
// changes this listing finds ones the incremental path missed.
func (a *Sync) WebhookCovered(ctx context.Context, in StageInput) (bool, error) {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return false, err
	}
	return a.Store.WebhookCovered(ctx, syncID, clientID)
}

// StageMissing soft-deletes the leads the complete listing did not return
// (v0: a local activity; StageMissingBatches replaced it).
func (a *Sync) StageMissing(ctx context.Context, in StageInput) (int, error) {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return 0, err
	}
	return a.Store.StageMissing(ctx, syncID, clientID)
}

// stagePos is StageMissingBatches' heartbeat.
type stagePos struct {
	Orphans int
	Staged  int
	Counted bool
}

// StageMissingBatches soft-deletes the leads the complete listing did not
// return, 10,000 rows a transaction, heartbeating after each, then closes
// the staging (count, orphaned runs, one audit row). A retry goes on with
// what is left; it answers the sync's total.
func (a *Sync) StageMissingBatches(ctx context.Context, in StageInput) (int, error) {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return 0, err
	}
	var pos stagePos
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &pos)
	}
	if !pos.Counted {
		if pos.Orphans, err = a.Store.CountOrphanedStaged(ctx, syncID, clientID); err != nil {
			return 0, err
		}
		pos.Counted = true
		activity.RecordHeartbeat(ctx, pos)
	}
	for {
		n, err := a.Store.StageMissingBatch(ctx, syncID, clientID, 10000)
		if err != nil {
			return 0, err
		}
		pos.Staged += n
		activity.RecordHeartbeat(ctx, pos)
		if n == 0 {
			return a.Store.FinishStaging(ctx, syncID, clientID, pos.Orphans)
		}
	}
}

// LiveLeadCount is the client's live lead count (for the safety threshold).
func (a *Sync) LiveLeadCount(ctx context.Context, clientID string) (int, error) {
	id, err := parseID("client id", clientID)
	if err != nil {
		return 0, err
	}
	return a.Store.LiveLeadCount(ctx, id)
}

// ReviewRef names the DeletionReview of a sync.
type ReviewRef struct {
	SyncID, WorkflowID string
}

// SetReviewWorkflow records the review on the run row.
func (a *Sync) SetReviewWorkflow(ctx context.Context, in ReviewRef) error {
	id, err := parseID("sync id", in.SyncID)
	if err != nil {
		return err
	}
	return a.Store.SetReviewWorkflow(ctx, id, in.WorkflowID)
}

// DecisionInput is an admin's decision on staged deletions.
type DecisionInput struct {
	SyncID, ClientID, Decision, Actor, RequestID string
	Staged                                       int
}

// RecordDecision writes the decision on the run and its audit row.
func (a *Sync) RecordDecision(ctx context.Context, in DecisionInput) error {
	id, err := parseID("sync id", in.SyncID)
	if err != nil {
		return err
	}
	return a.Store.RecordDecision(ctx, id, in.Decision, in.Actor, in.RequestID, in.Staged)
}

// DeleteInput asks to delete a sync's staged leads.
type DeleteInput struct {
	SyncID        string
	Actor         string
	Batch         int
	BaseID, Table string
}

// DeleteResult is what an approval did: the run row's totals.
type DeleteResult struct {
	Deleted int
	// Restored: staged leads kept because their record was back in Airtable
	// (found when their batch came up, or by a sync meanwhile).
	Restored int
}

// DeleteStaged carries out an approval in batches of at most 1,000. Before
// a batch is deleted its records are looked up in Airtable again (100 ids a
// request, paced like the listing, never inside a transaction): a record
// that came back during the decision window keeps its lead. Each batch is
// then one transaction with its audit rows and the run's counters; after a
// crash the retry simply continues with what is still staged. The result
// is read from the run row at the end: heartbeated totals lag behind (the
// SDK throttles heartbeats and a killed worker's last ones never arrive),
// so a retry resumed from them undercounted the batches already done.
func (a *Sync) DeleteStaged(ctx context.Context, in DeleteInput) (DeleteResult, error) {
	if in.Batch <= 0 || in.Batch > 1000 {
		in.Batch = 1000
	}
	syncID, err := parseID("sync id", in.SyncID)
	if err != nil {
		return DeleteResult{}, err
	}
	var res DeleteResult
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &res) // progress so far (the result is the run row's, below)
	}
	for {
		refs, err := a.Store.NextStaged(ctx, syncID, in.Batch)
		if err != nil {
			return res, err
		}
		if len(refs) == 0 {
			run, err := a.Store.GetSyncRun(ctx, nil, syncID)
			if err != nil {
				return res, err
			}
			return DeleteResult{Deleted: run.Deleted, Restored: run.Restored}, nil
		}
		ids := make([]string, len(refs))
		for i, r := range refs {
			ids[i] = r.RecordID
		}
		present, err := a.existing(ctx, in.BaseID, in.Table, ids, func() { activity.RecordHeartbeat(ctx, res) })
		if err != nil {
			return res, err
		}
		var del, back []uuid.UUID
		for _, r := range refs {
			if present[r.RecordID] {
				back = append(back, r.LeadID)
			} else {
				del = append(del, r.LeadID)
			}
		}
		d, b, err := a.Store.SettleStagedBatch(ctx, syncID, in.Actor, del, back)
		if err != nil {
			return res, err
		}
		res.Deleted += d
		res.Restored += b
		activity.RecordHeartbeat(ctx, res)
	}
}

var recordID = regexp.MustCompile(`^rec[A-Za-z0-9]{14}$`)

// existing says which of the record ids Airtable has, asking for up to 100
// at a time with filterByFormula OR(RECORD_ID()='…', …). An id that is not
// an Airtable record id cannot exist and is never put in a formula.
func (a *Sync) existing(ctx context.Context, base, tableName string, ids []string, beat func()) (map[string]bool, error) {
	table := a.client().GetTable(base, tableName)
	found := map[string]bool{}
	var valid []string
	for _, id := range ids {
		if recordID.MatchString(id) {
			valid = append(valid, id)
		}
	}
	for len(valid) > 0 {
		chunk := valid[:min(100, len(valid))]
		valid = valid[len(chunk):]
		terms := make([]string, len(chunk))
		for i, id := range chunk {
			terms[i] = "RECORD_ID()='" + id + "'"
		}
		formula := "OR(" + strings.Join(terms, ",") + ")"
		offset := ""
		for {
			if err := a.pace(ctx, base); err != nil {
				return nil, err
			}
			q := table.GetRecords().WithFilterFormula(formula).PageSize(100)
			if offset != "" {
				q = q.WithOffset(offset)
			}
			page, err := q.Do()
			var he *airtable.HTTPClientError
			if errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests {
				if err := a.penalize(ctx, base, beat); err != nil {
					return nil, err
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("look up staged records: %w", err)
			}
			for _, r := range page.Records {
				found[r.ID] = true
			}
			beat()
			if page.Offset == "" {
				break
			}
			offset = page.Offset
		}
	}
	return found, nil
}

// RestoreInput asks to restore a sync's staged leads.
type RestoreInput struct {
	SyncID, ClientID, Actor, Reason string
}

// RestoreStaged un-stages the leads.
func (a *Sync) RestoreStaged(ctx context.Context, in RestoreInput) (int, error) {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return 0, err
	}
	return a.Store.RestoreStaged(ctx, syncID, clientID, in.Actor, in.Reason)
}

// UpdateRunInput records progress.
type UpdateRunInput struct {
	SyncID string
	Update store.SyncUpdate
}

// UpdateRun writes the run row.
func (a *Sync) UpdateRun(ctx context.Context, in UpdateRunInput) error {
	id, err := parseID("sync id", in.SyncID)
	if err != nil {
		return err
	}
	return a.Store.UpdateSyncRun(ctx, id, in.Update)
}

// CreateRunInput names a new sync run.
type CreateRunInput struct {
	SyncID, ClientID, WorkflowID string
}

// CreateRun inserts the run row of a re-run.
func (a *Sync) CreateRun(ctx context.Context, in CreateRunInput) error {
	syncID, clientID, err := parseSyncIDs(in.SyncID, in.ClientID)
	if err != nil {
		return err
	}
	return a.Store.CreateSyncRun(ctx, syncID, clientID, in.WorkflowID)
}

// WriteBackInput asks to write a client's pending enrollments to Airtable.
type WriteBackInput struct {
	ClientID string
	Budget   time.Duration
}

// WriteBackResult is what one call wrote.
type WriteBackResult struct {
	Written, Skipped int
	Done             bool // nothing pending is left
}

// WriteBack writes each pending enrollment's campaign name and sequence
// status to its Airtable record, 10 records per request under the base's
// shared pacing. Every HTTP call happens outside any database transaction
// (seed 002, BUG #4); an enrollment is marked written only after Airtable
// accepted it, so a failure leaves it pending for the next run and never
// touches the enrollment itself. A record that no longer exists in
// Airtable is marked skipped.
func (a *Sync) WriteBack(ctx context.Context, in WriteBackInput) (WriteBackResult, error) {
	clientID, err := parseID("client id", in.ClientID)
	if err != nil {
		return WriteBackResult{}, err
	}
	cl, err := a.Store.GetClient(ctx, clientID)
	if err != nil {
		return WriteBackResult{}, err
	}
	fields, err := cl.Fields()
	if err != nil {
		return WriteBackResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeSchema, err)
	}
	if cl.AirtableBaseID == "" {
		return WriteBackResult{Done: true}, nil
	}
	table := a.client().GetTable(cl.AirtableBaseID, cl.AirtableTable)
	deadline := time.Now().Add(in.Budget)
	var res WriteBackResult
	for time.Now().Before(deadline) {
		items, err := a.Store.PendingWriteBacks(ctx, clientID, 10)
		if err != nil {
			return res, err
		}
		if len(items) == 0 {
			res.Done = true
			return res, nil
		}
		err = a.patch(ctx, cl.AirtableBaseID, table, fields, items)
		switch {
		case err == nil:
			if err := a.Store.MarkWrittenBack(ctx, items, "written"); err != nil {
				return res, err
			}
			res.Written += len(items)
		case recordGone(err):
			// One of the records is gone: write them one by one.
			for _, it := range items {
				err := a.patch(ctx, cl.AirtableBaseID, table, fields, []store.WriteBackItem{it})
				switch {
				case err == nil:
					if err := a.Store.MarkWrittenBack(ctx, []store.WriteBackItem{it}, "written"); err != nil {
						return res, err
					}
					res.Written++
				case recordGone(err):
					if err := a.Store.MarkWrittenBack(ctx, []store.WriteBackItem{it}, "skipped"); err != nil {
						return res, err
					}
					res.Skipped++
				default:
					return res, fmt.Errorf("write back %s: %w", it.AirtableRecordID, err)
				}
			}
		default:
			return res, fmt.Errorf("write back: %w", err)
		}
		activity.RecordHeartbeat(ctx, res)
	}
	return res, nil
}

// recordGone says Airtable refused a write because a record does not exist
// (ROW_DOES_NOT_EXIST, MODEL_ID_NOT_FOUND). Any other refusal (an unknown
// field, a missing table, a bad option) is a configuration error: the
// records stay pending and the error is reported, never skipped for good.
func recordGone(err error) bool {
	var he *airtable.HTTPClientError
	if !errors.As(err, &he) || (he.StatusCode != http.StatusNotFound && he.StatusCode != 422) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "ROW_DOES_NOT_EXIST") || strings.Contains(msg, "MODEL_ID_NOT_FOUND")
}

// patch sends one PATCH of up to 10 records, waiting out 429s.
func (a *Sync) patch(ctx context.Context, base string, table *airtable.Table, m airtablefields.Mapping, items []store.WriteBackItem) error {
	recs := &airtable.Records{}
	for _, it := range items {
		recs.Records = append(recs.Records, &airtable.Record{ID: it.AirtableRecordID, Fields: map[string]any{
			m.Campaign: it.CampaignName, m.SequenceStatus: it.Status,
		}})
	}
	for {
		if err := a.pace(ctx, base); err != nil {
			return err
		}
		_, err := table.UpdateRecordsPartialContext(ctx, recs)
		var he *airtable.HTTPClientError
		if errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests {
			if err := a.penalize(ctx, base, func() { activity.RecordHeartbeat(ctx) }); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// RecordWriteBackError notes a write-back failure on the campaign (the
// enrollment stands; pending records are retried by the next run).
func (a *Sync) RecordWriteBackError(ctx context.Context, campaignID, msg string) error {
	id, err := parseID("campaign id", campaignID)
	if err != nil {
		return err
	}
	return a.Store.SetWriteBackError(ctx, id, msg)
}
