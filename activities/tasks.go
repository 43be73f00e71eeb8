package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mehanizm/airtable"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/airtablefields"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/task"
)

// Two-way task sync (issue 12, HIGH-6): the activities of the TaskSync
// workflow. Every Airtable request is paced like the lead sync's (the
// shared per-base schedule in airtable_rate) and none is sent inside a
// database transaction.

// ErrTypeTaskConfig: the client's tasks cannot be synced as configured
// (no base, no tasks table, a mapping that does not parse).
const ErrTypeTaskConfig = "TaskSyncConfig"

// TaskRecord is one record of a client's Airtable Tasks table as the Web
// API (or a webhook payload mapped to field names) shows it.
type TaskRecord struct {
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields"`
	// Modified (RFC 3339) stands in for the record's last-modified cell
	// when it has none: a webhook payload's time.
	Modified string `json:"modified,omitempty"`
}

// ApplyTasksInput carries records of a client's Tasks table.
type ApplyTasksInput struct {
	ClientID string
	Records  []TaskRecord
}

// TaskApplyResult is what applying records did.
type TaskApplyResult struct {
	store.ApplyResult
	Records int
	// Invalid records are left alone (they stay in Airtable; nothing local
	// changes): "recXXX: title ..." for the first 10.
	Invalid     int
	InvalidWhy  []string `json:",omitempty"`
	Pages       int
	Error       string `json:",omitempty"`
	Unavailable bool   `json:",omitempty"` // no base or no tasks table: nothing pulled
}

// taskConfig loads the client's tasks table and mapping; bad input is non-retryable.
func (a *Sync) taskConfig(ctx context.Context, clientID string) (store.TaskSyncConfig, error) {
	id, err := parseID("client id", clientID)
	if err != nil {
		return store.TaskSyncConfig{}, err
	}
	cfg, err := a.Store.GetTaskSyncConfig(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return cfg, temporal.NewNonRetryableApplicationError("client "+clientID+" not found", "NotFound", err)
	case errors.Is(err, store.ErrTaskMapping):
		return cfg, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeTaskConfig, err)
	}
	return cfg, err
}

// ApplyRemoteTasks merges records of the client's Airtable Tasks table into
// its tasks (field by field, task.Merge; records unknown to Nurture become
// tasks). It is the one entry point for Airtable-side task changes: the
// TaskSync workflow's listing calls it page by page, and the incremental
// (webhook payload) path calls it with the changed records of the Tasks
// table, their fields keyed by the column names of the client's task mapping.
func (a *Sync) ApplyRemoteTasks(ctx context.Context, in ApplyTasksInput) (TaskApplyResult, error) {
	cfg, err := a.taskConfig(ctx, in.ClientID)
	if err != nil {
		return TaskApplyResult{}, err
	}
	return a.applyTasks(ctx, cfg, in.Records)
}

func (a *Sync) applyTasks(ctx context.Context, cfg store.TaskSyncConfig, recs []TaskRecord) (TaskApplyResult, error) {
	res := TaskApplyResult{Records: len(recs)}
	remote := make([]store.RemoteTask, 0, len(recs))
	for _, r := range recs {
		rt, why := mapTaskRecord(r, cfg.Fields)
		if why != "" {
			res.Invalid++
			if len(res.InvalidWhy) < 10 {
				res.InvalidWhy = append(res.InvalidWhy, r.ID+": "+why)
			}
			continue
		}
		remote = append(remote, rt)
	}
	ar, err := a.Store.ApplyRemoteTasks(ctx, cfg.ClientID, remote)
	res.ApplyResult = ar
	return res, err
}

// mapTaskRecord reads one record through the mapping; a reason when it
// cannot be a task (no title, an unknown status, a bad date).
func mapTaskRecord(r TaskRecord, m airtablefields.TaskMapping) (store.RemoteTask, string) {
	if r.ID == "" {
		return store.RemoteTask{}, "record without an id"
	}
	rt := store.RemoteTask{RecordID: r.ID}
	for _, f := range task.Fields {
		raw := r.Fields[m.Column(f)]
		s := ""
		switch x := raw.(type) {
		case nil:
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			return rt, f + " is not text"
		}
		v, err := task.CheckField(f, s)
		if err != nil {
			return rt, err.Error()
		}
		rt.Values.Set(f, v)
	}
	mod, ok := r.Fields[m.LastModified].(string)
	if !ok || m.LastModified == "" {
		mod = r.Modified
	}
	if t, err := time.Parse(time.RFC3339, mod); err == nil {
		rt.Modified = t
	}
	rt.NurtureID, _ = r.Fields[m.NurtureID].(string)
	return rt, ""
}

// TaskPullInput names the client whose Tasks table is listed.
type TaskPullInput struct {
	ClientID string
}

// PullTasks lists the client's whole Tasks table (100 records a page,
// paced, 429s waited out) and applies each page. A base or table that is
// not there is not an error of the workflow: the result says so.
func (a *Sync) PullTasks(ctx context.Context, in TaskPullInput) (TaskApplyResult, error) {
	cfg, err := a.taskConfig(ctx, in.ClientID)
	if err != nil {
		return TaskApplyResult{}, err
	}
	var total TaskApplyResult
	if cfg.BaseID == "" {
		total.Unavailable, total.Error = true, "the client has no Airtable base"
		return total, nil
	}
	table := a.client().GetTable(cfg.BaseID, cfg.Table)
	offset := ""
	for {
		if err := a.pace(ctx, cfg.BaseID); err != nil {
			return total, err
		}
		q := table.GetRecords().PageSize(100)
		if offset != "" {
			q = q.WithOffset(offset)
		}
		page, err := q.Do()
		var he *airtable.HTTPClientError
		switch {
		case errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests:
			if err := a.penalize(ctx, cfg.BaseID, func() { activity.RecordHeartbeat(ctx) }); err != nil {
				return total, err
			}
			continue
		case errors.As(err, &he) && he.StatusCode == 422 && strings.Contains(err.Error(), "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"):
			offset = "" // applying is idempotent: list again from the start
			continue
		case errors.As(err, &he) && he.StatusCode == http.StatusNotFound:
			total.Unavailable, total.Error = true, fmt.Sprintf("base %s has no table %q", cfg.BaseID, cfg.Table)
			return total, nil
		case errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500:
			return total, temporal.NewNonRetryableApplicationError(fmt.Sprintf("airtable refused the task listing: %d", he.StatusCode), ErrTypeAirtableRejected, err)
		case err != nil:
			return total, fmt.Errorf("list tasks: %w", err)
		}
		recs := make([]TaskRecord, len(page.Records))
		for i, r := range page.Records {
			recs[i] = TaskRecord{ID: r.ID, Fields: r.Fields}
		}
		res, err := a.applyTasks(ctx, cfg, recs)
		if err != nil {
			return total, err
		}
		total.Pages++
		total.Records += res.Records
		total.Created += res.Created
		total.Updated += res.Updated
		total.Conflicts += res.Conflicts
		total.Unchanged += res.Unchanged
		total.Invalid += res.Invalid
		for _, w := range res.InvalidWhy {
			if len(total.InvalidWhy) < 10 {
				total.InvalidWhy = append(total.InvalidWhy, w)
			}
		}
		activity.RecordHeartbeat(ctx, total.Pages)
		if page.Offset == "" {
			break
		}
		offset = page.Offset
	}
	if total.Invalid > 0 {
		a.logger().Warn("task records not imported", zap.String("client_id", in.ClientID), zap.Int("invalid", total.Invalid),
			zap.Strings("why", total.InvalidWhy))
	}
	return total, nil
}

func (a *Sync) logger() *zap.Logger {
	if a.Log == nil {
		return zap.NewNop()
	}
	return a.Log
}

// TaskPushInput names the client whose pending tasks are written.
type TaskPushInput struct {
	ClientID string
	Budget   time.Duration // 0: 20 s
}

// TaskPushResult counts what a push wrote.
type TaskPushResult struct {
	Created, Updated, Gone int
	// Done: nothing was left pending when it stopped (within the budget).
	Done bool
	// Error is Airtable's refusal of a configuration (an unknown field, no
	// table): the tasks stay pending with the error on them.
	Error string `json:",omitempty"`
}

// PushTasks writes the client's pending tasks to Airtable: new tasks are
// created (POST, 10 a request, each with its Nurture ID), edited ones
// PATCHed (10 a request, only the fields changed since the last sync). A
// task is marked synced only after Airtable accepted it, and only with
// the values Airtable accepted (an edit made meanwhile stays pending).
func (a *Sync) PushTasks(ctx context.Context, in TaskPushInput) (TaskPushResult, error) {
	cfg, err := a.taskConfig(ctx, in.ClientID)
	if err != nil {
		return TaskPushResult{}, err
	}
	var res TaskPushResult
	if cfg.BaseID == "" {
		res.Error = "the client has no Airtable base"
		return res, nil
	}
	budget := in.Budget
	if budget <= 0 {
		budget = 20 * time.Second
	}
	deadline := time.Now().Add(budget)
	table := a.client().GetTable(cfg.BaseID, cfg.Table)
	for _, creates := range []bool{true, false} {
		after := uuid.Nil
		for {
			if time.Now().After(deadline) {
				return res, nil
			}
			batch, err := a.Store.PendingTaskPushes(ctx, cfg.ClientID, creates, after, 10)
			if err != nil {
				return res, err
			}
			if len(batch) == 0 {
				break
			}
			after = batch[len(batch)-1].ID
			if err := a.pushBatch(ctx, cfg, table, creates, batch, &res); err != nil {
				return res, err
			}
			activity.RecordHeartbeat(ctx, res)
		}
	}
	res.Done = res.Error == ""
	return res, nil
}

func (a *Sync) pushBatch(ctx context.Context, cfg store.TaskSyncConfig, table *airtable.Table, creates bool, batch []store.Task, res *TaskPushResult) error {
	recs := &airtable.Records{}
	for _, t := range batch {
		recs.Records = append(recs.Records, &airtable.Record{ID: ptrOr(t.AirtableRecordID), Fields: taskFields(t, cfg.Fields, creates)})
	}
	out, err := a.writeTasks(ctx, cfg.BaseID, table, creates, recs)
	switch {
	case err == nil:
	case !creates && recordGone(err) && len(batch) > 1:
		for _, t := range batch { // find the one that is gone
			if err := a.pushBatch(ctx, cfg, table, creates, []store.Task{t}, res); err != nil {
				return err
			}
		}
		return nil
	case !creates && recordGone(err):
		changed, err := a.Store.MarkTaskRecordGone(ctx, batch[0].ID, ptrOr(batch[0].AirtableRecordID))
		if changed {
			res.Gone++
		}
		return err
	case len(batch) > 1 && recordRefused(err):
		// Airtable refuses a whole request for one bad record (a batch is
		// all or nothing): write them one by one, so only that one waits.
		for _, t := range batch {
			if err := a.pushBatch(ctx, cfg, table, creates, []store.Task{t}, res); err != nil {
				return err
			}
		}
		return nil
	default:
		var he *airtable.HTTPClientError
		if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 {
			msg := fmt.Sprintf("airtable refused the write: %v", err)
			res.Error = msg
			ids := make([]uuid.UUID, len(batch))
			for i, t := range batch {
				ids[i] = t.ID
			}
			return a.Store.MarkTaskPushError(ctx, ids, msg)
		}
		return fmt.Errorf("write tasks: %w", err)
	}
	if out == nil || len(out.Records) != len(batch) {
		return fmt.Errorf("write tasks: airtable answered %d records for %d", lenRecords(out), len(batch))
	}
	for i, t := range batch {
		r := out.Records[i]
		var mod *time.Time
		if s, ok := r.Fields[cfg.Fields.LastModified].(string); ok {
			if tm, err := time.Parse(time.RFC3339, s); err == nil {
				mod = &tm
			}
		}
		var before *task.Values
		if !creates {
			before = t.Synced()
		}
		if err := a.Store.MarkTaskPushed(ctx, t.ID, r.ID, before, t.Values(), mod); err != nil {
			return err
		}
		if creates {
			res.Created++
		} else {
			res.Updated++
		}
	}
	return nil
}

// recordRefused: a 422, Airtable's refusal of a value of one of the
// records (an unknown select choice, a bad date). Other 4xx refuse the
// request itself (a missing table, a bad key), and so do an unknown field
// and a computed field (the mapping is wrong): those would refuse every
// record alike, and splitting would only spend 10 requests of the base's
// pacing each cycle.
func recordRefused(err error) bool {
	var he *airtable.HTTPClientError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	msg := err.Error()
	return !strings.Contains(msg, "UNKNOWN_FIELD_NAME") && !strings.Contains(msg, "computed")
}

func lenRecords(r *airtable.Records) int {
	if r == nil {
		return 0
	}
	return len(r.Records)
}

func ptrOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// taskFields are the Airtable fields a push writes: every field of a new
// record, only the changed ones of an existing record.
func taskFields(t store.Task, m airtablefields.TaskMapping, create bool) map[string]any {
	v, base := t.Values(), t.Synced()
	out := map[string]any{}
	for _, f := range task.Fields {
		val := v.Get(f)
		if !create && base != nil && base.Get(f) == val {
			continue
		}
		if val == "" {
			if create {
				continue
			}
			out[m.Column(f)] = nil
			continue
		}
		out[m.Column(f)] = val
	}
	if create {
		out[m.NurtureID] = t.ID.String()
	}
	return out
}

// writeTasks sends one POST or PATCH of up to 10 records, paced, waiting out 429s.
func (a *Sync) writeTasks(ctx context.Context, base string, table *airtable.Table, creates bool, recs *airtable.Records) (*airtable.Records, error) {
	for {
		if err := a.pace(ctx, base); err != nil {
			return nil, err
		}
		var out *airtable.Records
		var err error
		if creates {
			out, err = table.AddRecordsContext(ctx, recs)
		} else {
			out, err = table.UpdateRecordsPartialContext(ctx, recs)
		}
		var he *airtable.HTTPClientError
		if errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests {
			if err := a.penalize(ctx, base, func() { activity.RecordHeartbeat(ctx) }); err != nil {
				return nil, err
			}
			continue
		}
		return out, err
	}
}

// TaskSyncStatus answers what is left to do for the client's tasks: the
// tasks Airtable does not have yet (with the reason) and the conflicts.
func (a *Sync) TaskSyncStatus(ctx context.Context, clientID string) (store.TaskSyncStatus, error) {
	id, err := parseID("client id", clientID)
	if err != nil {
		return store.TaskSyncStatus{}, err
	}
	return a.Store.GetTaskSyncStatus(ctx, id)
}
