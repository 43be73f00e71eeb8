package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nurture-sms/nurture/internal/airtablefields"
	"github.com/nurture-sms/nurture/internal/task"
)

// Task sync states.
const (
	TaskPending  = "pending"
	TaskSynced   = "synced"
	TaskConflict = "conflict"
)

// Task is a client's project task, kept in sync with its Airtable Tasks table.
type Task struct {
	ID               uuid.UUID                `json:"id"`
	ClientID         uuid.UUID                `json:"client_id"`
	AirtableRecordID *string                  `json:"airtable_record_id"`
	Title            string                   `json:"title"`
	Status           string                   `json:"status"`
	Assignee         string                   `json:"assignee"`
	DueDate          *string                  `json:"due_date"`
	Notes            string                   `json:"notes"`
	SyncState        string                   `json:"sync_state"`
	PushPending      bool                     `json:"push_pending"`
	Conflict         map[string]task.Conflict `json:"conflict"`
	LastError        string                   `json:"last_error"`
	CreatedAt        time.Time                `json:"created_at"`
	UpdatedAt        time.Time                `json:"updated_at"`
	RemoteModifiedAt *time.Time               `json:"remote_modified_at"`
	SyncedAt         *time.Time               `json:"synced_at"`

	synced *task.Values
}

// Values are the task's synced fields.
func (t Task) Values() task.Values {
	v := task.Values{Title: t.Title, Status: t.Status, Assignee: t.Assignee, Notes: t.Notes}
	if t.DueDate != nil {
		v.DueDate = *t.DueDate
	}
	return v
}

// Synced is what both sides last agreed on (nil: never synced).
func (t Task) Synced() *task.Values { return t.synced }

func (t *Task) setValues(v task.Values) {
	t.Title, t.Status, t.Assignee, t.Notes = v.Title, v.Status, v.Assignee, v.Notes
	t.DueDate = nil
	if v.DueDate != "" {
		d := v.DueDate
		t.DueDate = &d
	}
}

const taskCols = `t.id, t.client_id, t.airtable_record_id, t.title, t.status, t.assignee, COALESCE(to_char(t.due_date, 'YYYY-MM-DD'), ''),
	t.notes, t.sync_state, t.push_pending, t.conflict, t.last_error, t.created_at, t.updated_at, t.remote_modified_at, t.synced_at, t.synced`

func scanTask(row pgx.Row) (Task, error) {
	var t Task
	var due string
	var conflict, synced []byte
	err := row.Scan(&t.ID, &t.ClientID, &t.AirtableRecordID, &t.Title, &t.Status, &t.Assignee, &due, &t.Notes, &t.SyncState,
		&t.PushPending, &conflict, &t.LastError, &t.CreatedAt, &t.UpdatedAt, &t.RemoteModifiedAt, &t.SyncedAt, &synced)
	if err != nil {
		return t, notFound(err)
	}
	if due != "" {
		t.DueDate = &due
	}
	if len(conflict) > 0 && string(conflict) != "null" {
		if err := json.Unmarshal(conflict, &t.Conflict); err != nil {
			return t, fmt.Errorf("task %s conflict: %w", t.ID, err)
		}
	}
	if len(synced) > 0 && string(synced) != "null" {
		var m map[string]string
		if err := json.Unmarshal(synced, &m); err != nil {
			return t, fmt.Errorf("task %s synced: %w", t.ID, err)
		}
		v := task.FromMap(m)
		t.synced = &v
	}
	return t, nil
}

func queryTasks(ctx context.Context, q Querier, sql string, args ...any) ([]Task, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// stateOf is the sync_state the row's columns imply.
func stateOf(conflict map[string]task.Conflict, pushPending bool) string {
	switch {
	case len(conflict) > 0:
		return TaskConflict
	case pushPending:
		return TaskPending
	}
	return TaskSynced
}

func nullJSON(v any, empty bool) ([]byte, error) {
	if empty {
		return nil, nil
	}
	return json.Marshal(v)
}

// writeTask stores every sync-relevant column of t (in tx, row locked).
func writeTask(ctx context.Context, tx pgx.Tx, t *Task, localEdit bool) error {
	v := t.Values()
	t.PushPending = t.AirtableRecordID == nil || t.synced == nil || *t.synced != v
	t.SyncState = stateOf(t.Conflict, t.PushPending)
	conflict, err := nullJSON(t.Conflict, len(t.Conflict) == 0)
	if err != nil {
		return err
	}
	var synced []byte
	if t.synced != nil {
		if synced, err = json.Marshal(t.synced.Map()); err != nil {
			return err
		}
	}
	var due *string
	if v.DueDate != "" {
		due = &v.DueDate
	}
	return tx.QueryRow(ctx, `UPDATE tasks SET title = $2, status = $3, assignee = $4, due_date = $5::date, notes = $6,
		airtable_record_id = $7, sync_state = $8, push_pending = $9, conflict = $10, synced = $11, last_error = $12,
		remote_modified_at = $13, synced_at = $14, updated_at = CASE WHEN $15 THEN clock_timestamp() ELSE updated_at END
		WHERE id = $1 RETURNING updated_at`,
		t.ID, v.Title, v.Status, v.Assignee, due, v.Notes, t.AirtableRecordID, t.SyncState, t.PushPending, conflict, synced,
		t.LastError, t.RemoteModifiedAt, t.SyncedAt, localEdit).Scan(&t.UpdatedAt)
}

// TaskSyncConfig is where a client's tasks live in Airtable.
type TaskSyncConfig struct {
	ClientID   uuid.UUID
	ClientName string
	BaseID     string
	Table      string
	Fields     airtablefields.TaskMapping
}

// ErrTaskMapping: the client's stored task field mapping does not parse.
var ErrTaskMapping = errors.New("task field mapping")

// GetTaskSyncConfig loads a client's Airtable tasks table and mapping.
func (s *Store) GetTaskSyncConfig(ctx context.Context, clientID uuid.UUID) (TaskSyncConfig, error) {
	c := TaskSyncConfig{ClientID: clientID}
	var raw []byte
	err := s.Pool.QueryRow(ctx, `SELECT name, airtable_base_id, airtable_tasks_table, airtable_task_fields FROM clients WHERE id = $1`,
		clientID).Scan(&c.ClientName, &c.BaseID, &c.Table, &raw)
	if err != nil {
		return c, notFound(err)
	}
	if c.Table == "" {
		c.Table = airtablefields.DefaultTaskTable
	}
	if c.Fields, err = airtablefields.ParseTasks(raw); err != nil {
		return c, fmt.Errorf("%w: %v", ErrTaskMapping, err)
	}
	return c, nil
}

// CreateTask inserts a local task (pending until Airtable has it).
func (s *Store) CreateTask(ctx context.Context, clientID uuid.UUID, v task.Values, actor, requestID string) (Task, error) {
	var t Task
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var due *string
		if v.DueDate != "" {
			due = &v.DueDate
		}
		var id uuid.UUID
		err := tx.QueryRow(ctx, `INSERT INTO tasks (client_id, title, status, assignee, due_date, notes, sync_state, push_pending)
			VALUES ($1, $2, $3, $4, $5::date, $6, 'pending', true) RETURNING id`, clientID, v.Title, v.Status, v.Assignee, due, v.Notes).Scan(&id)
		if err != nil {
			if isFKViolation(err) {
				return ErrNotFound
			}
			return err
		}
		if t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t WHERE t.id = $1`, id)); err != nil {
			return err
		}
		return LogActivity(ctx, tx, Activity{ClientID: &clientID, Actor: actor, Action: "task.create", Entity: "task", EntityID: id.String(),
			Details: map[string]any{"request_id": requestID}})
	})
	return t, err
}

// TaskPatch is a local edit: the fields given (nil: unchanged).
type TaskPatch struct {
	Values          map[string]string
	ResolveConflict bool
}

// UpdateTask applies a local edit in one transaction (row locked) with
// its audit row naming the fields that changed. It returns the task and
// whether anything changed.
func (s *Store) UpdateTask(ctx context.Context, scope *uuid.UUID, id uuid.UUID, p TaskPatch, actor, requestID string) (Task, bool, error) {
	var t Task
	changed := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t WHERE t.id = $1 AND ($2::uuid IS NULL OR t.client_id = $2) FOR UPDATE`, id, scope))
		if err != nil {
			return err
		}
		v := t.Values()
		var fields []string
		for _, f := range task.Fields {
			if nv, ok := p.Values[f]; ok && nv != v.Get(f) {
				v.Set(f, nv)
				fields = append(fields, f)
			}
		}
		resolved := p.ResolveConflict && len(t.Conflict) > 0
		if len(fields) == 0 && !resolved {
			return nil
		}
		changed = true
		t.setValues(v)
		details := map[string]any{"fields": fields, "request_id": requestID}
		if resolved {
			details["resolved_conflict"] = t.Conflict
			t.Conflict = nil
		}
		if err := writeTask(ctx, tx, &t, len(fields) > 0); err != nil {
			return err
		}
		return LogActivity(ctx, tx, Activity{ClientID: &t.ClientID, Actor: actor, Action: "task.update", Entity: "task", EntityID: id.String(), Details: details})
	})
	return t, changed, err
}

// GetTask loads one task in scope (nil: any client).
func (s *Store) GetTask(ctx context.Context, scope *uuid.UUID, id uuid.UUID) (Task, error) {
	return scanTask(s.Pool.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t WHERE t.id = $1 AND ($2::uuid IS NULL OR t.client_id = $2)`, id, scope))
}

// TaskFilter selects a page of tasks, newest first.
type TaskFilter struct {
	ClientID  *uuid.UUID
	SyncState string
	Status    string
	Assignee  string
	Limit     int
	After     *LeadCursor
}

// ListTasks returns one page, (created_at DESC, id DESC), and the next cursor.
func (s *Store) ListTasks(ctx context.Context, f TaskFilter) ([]Task, string, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where = append(where, "true")
	if f.ClientID != nil {
		where = append(where, "t.client_id = "+arg(*f.ClientID))
	}
	if f.SyncState != "" {
		where = append(where, "t.sync_state = "+arg(f.SyncState))
	}
	if f.Status != "" {
		where = append(where, "t.status = "+arg(f.Status))
	}
	if f.Assignee != "" {
		where = append(where, "t.assignee = "+arg(f.Assignee))
	}
	if f.After != nil {
		where = append(where, "(t.created_at, t.id) < ("+arg(f.After.CreatedAt)+"::timestamptz, "+arg(f.After.ID)+"::uuid)")
	}
	q := `SELECT ` + taskCols + ` FROM tasks t WHERE ` + strings.Join(where, " AND ") + ` ORDER BY t.created_at DESC, t.id DESC LIMIT ` + arg(f.Limit+1)
	out, err := queryTasks(ctx, s.Pool, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list tasks: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = LeadCursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	return out, next, nil
}

// PendingTaskPushes lists up to limit tasks with a local edit Airtable does
// not have: creates (no record yet) or updates.
func (s *Store) PendingTaskPushes(ctx context.Context, clientID uuid.UUID, creates bool, afterID uuid.UUID, limit int) ([]Task, error) {
	return queryTasks(ctx, s.Pool, `SELECT `+taskCols+` FROM tasks t WHERE t.client_id = $1 AND t.push_pending
		AND (t.airtable_record_id IS NULL) = $2 AND t.id > $3 ORDER BY t.id LIMIT $4`, clientID, creates, afterID, limit)
}

// MarkTaskPushed records that Airtable accepted values for the task
// (recordID: its record, new or not; before: what both sides agreed on
// when the push read the task, nil for a create; modified: the record's
// last-modified time as Airtable answered). Only the fields the push wrote
// (those that differ from before) become synced with the pushed values:
// a field Airtable changed meanwhile (applied by a webhook payload) keeps
// what that apply agreed on. A local edit made meanwhile stays pending. An
// update whose record was unlinked meanwhile (destroyed in Airtable)
// changes nothing: the task is created again by the next push.
func (s *Store) MarkTaskPushed(ctx context.Context, id uuid.UUID, recordID string, before *task.Values, pushed task.Values, modified *time.Time) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t WHERE t.id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if before != nil && (t.AirtableRecordID == nil || *t.AirtableRecordID != recordID) {
			return nil
		}
		rid := recordID
		t.AirtableRecordID = &rid
		synced := pushed
		if before != nil && t.synced != nil {
			synced = *t.synced
			for _, f := range task.Fields {
				if pushed.Get(f) != before.Get(f) {
					synced.Set(f, pushed.Get(f))
				}
			}
		}
		t.synced = &synced
		t.LastError = ""
		if modified != nil && (t.RemoteModifiedAt == nil || modified.After(*t.RemoteModifiedAt)) {
			t.RemoteModifiedAt = modified
		}
		now := time.Now().UTC()
		t.SyncedAt = &now
		return writeTask(ctx, tx, &t, false)
	})
}

// MarkTaskPushError records why Airtable refused the tasks (they stay pending).
func (s *Store) MarkTaskPushError(ctx context.Context, ids []uuid.UUID, msg string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE tasks SET last_error = $2 WHERE id = ANY($1)`, ids, msg)
	return err
}

// MarkTaskRecordGone handles a record deleted in Airtable while the task
// still exists locally: the local task wins (it is created again by the
// next push) and the conflict record says so. It changes nothing (false)
// when the task is no longer linked to that record.
func (s *Store) MarkTaskRecordGone(ctx context.Context, id uuid.UUID, recordID string) (bool, error) {
	changed := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t WHERE t.id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if t.AirtableRecordID == nil || *t.AirtableRecordID != recordID {
			return nil // already handled, or linked to another record since
		}
		changed = true
		if t.Conflict == nil {
			t.Conflict = map[string]task.Conflict{}
		}
		t.Conflict["record"] = task.Conflict{Local: "exists", Remote: "deleted in Airtable (" + *t.AirtableRecordID + ")", Winner: "local",
			LocalUpdatedAt: t.UpdatedAt, DetectedAt: time.Now().UTC()}
		t.AirtableRecordID = nil
		t.synced = nil
		return writeTask(ctx, tx, &t, false)
	})
	return changed, err
}

// TaskRecordsDestroyed handles records of the client's Tasks table that
// Airtable reports destroyed (a webhook payload's destroyedRecordIds): each
// task linked to one is handled as MarkTaskRecordGone does. It returns how
// many tasks were; records no task is linked to change nothing.
func (s *Store) TaskRecordsDestroyed(ctx context.Context, clientID uuid.UUID, recordIDs []string) (int, error) {
	type link struct {
		ID       uuid.UUID
		RecordID string
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, airtable_record_id FROM tasks WHERE client_id = $1 AND airtable_record_id = ANY($2) ORDER BY id`, clientID, recordIDs)
	if err != nil {
		return 0, err
	}
	links, err := pgx.CollectRows(rows, pgx.RowToStructByPos[link])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range links {
		changed, err := s.MarkTaskRecordGone(ctx, l.ID, l.RecordID)
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// RemoteTask is one record of a client's Airtable Tasks table.
type RemoteTask struct {
	RecordID  string
	NurtureID string // the task id Nurture wrote when it created the record
	Values    task.Values
	Modified  time.Time // Airtable's last-modified time of the record
}

// ApplyResult counts what ApplyRemoteTasks did.
type ApplyResult struct {
	Created   int `json:"created"`   // records new to Nurture: tasks created
	Updated   int `json:"updated"`   // tasks that took at least one field from Airtable
	Conflicts int `json:"conflicts"` // tasks where both sides changed a field
	Unchanged int `json:"unchanged"`
}

// ApplyRemoteTasks merges Airtable's records into the client's tasks, each
// record in its own short transaction (row locked): unknown records become
// tasks; known ones are merged field by field (task.Merge).
func (s *Store) ApplyRemoteTasks(ctx context.Context, clientID uuid.UUID, recs []RemoteTask) (ApplyResult, error) {
	var res ApplyResult
	for _, r := range recs {
		if err := s.InTx(ctx, func(tx pgx.Tx) error { return applyRemote(ctx, tx, clientID, r, &res) }); err != nil {
			return res, fmt.Errorf("apply record %s: %w", r.RecordID, err)
		}
	}
	return res, nil
}

func applyRemote(ctx context.Context, tx pgx.Tx, clientID uuid.UUID, r RemoteTask, res *ApplyResult) error {
	return applyRemoteOnce(ctx, tx, clientID, r, res, false)
}

func applyRemoteOnce(ctx context.Context, tx pgx.Tx, clientID uuid.UUID, r RemoteTask, res *ApplyResult, retried bool) error {
	t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t WHERE t.client_id = $1 AND t.airtable_record_id = $2 FOR UPDATE`, clientID, r.RecordID))
	if errors.Is(err, ErrNotFound) && r.NurtureID != "" {
		// A record Nurture created whose id was not recorded (a crash between the POST and the commit).
		if nid, perr := uuid.Parse(r.NurtureID); perr == nil {
			t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t WHERE t.client_id = $1 AND t.id = $2 AND t.airtable_record_id IS NULL FOR UPDATE`, clientID, nid))
		}
	}
	mod := r.Modified.UTC()
	var modOrNil *time.Time // a table without a Last Modified column: unknown, never a time
	if !r.Modified.IsZero() {
		modOrNil = &mod
	}
	now := time.Now().UTC()
	if errors.Is(err, ErrNotFound) {
		var due *string
		if r.Values.DueDate != "" {
			due = &r.Values.DueDate
		}
		synced, _ := json.Marshal(r.Values.Map())
		var id uuid.UUID
		if err := tx.QueryRow(ctx, `INSERT INTO tasks (client_id, airtable_record_id, title, status, assignee, due_date, notes, sync_state,
			push_pending, synced, remote_modified_at, synced_at) VALUES ($1, $2, $3, $4, $5, $6::date, $7, 'synced', false, $8, $9, $10)
			ON CONFLICT (client_id, airtable_record_id) WHERE airtable_record_id IS NOT NULL DO NOTHING RETURNING id`,
			clientID, r.RecordID, r.Values.Title, r.Values.Status, r.Values.Assignee, due, r.Values.Notes, synced, modOrNil, now).Scan(&id); err != nil {
			if errors.Is(err, pgx.ErrNoRows) && !retried {
				// Another apply (the listing, a payload) created it just
				// now: merge into that task instead.
				return applyRemoteOnce(ctx, tx, clientID, r, res, true)
			}
			return err
		}
		res.Created++
		return LogActivity(ctx, tx, Activity{ClientID: &clientID, Actor: "system:task-sync", Action: "task.create", Entity: "task",
			EntityID: id.String(), Details: map[string]any{"airtable_record_id": r.RecordID}})
	}
	if err != nil {
		return err
	}
	if t.RemoteModifiedAt != nil && !r.Modified.IsZero() && mod.Before(*t.RemoteModifiedAt) {
		// An older state of the record than the one the task already has
		// (a webhook payload read after a newer listing): nothing to take.
		res.Unchanged++
		return nil
	}
	m := task.Merge(t.Values(), t.synced, t.UpdatedAt, r.Values, mod, now)
	if t.synced != nil && *t.synced == m.Base && t.Values() == m.Values && len(m.Conflicts) == 0 &&
		t.AirtableRecordID != nil && *t.AirtableRecordID == r.RecordID {
		res.Unchanged++
		return nil
	}
	rid := r.RecordID
	t.AirtableRecordID = &rid
	t.setValues(m.Values)
	base := m.Base
	t.synced = &base
	if modOrNil != nil && (t.RemoteModifiedAt == nil || mod.After(*t.RemoteModifiedAt)) {
		t.RemoteModifiedAt = modOrNil // never backwards
	}
	t.SyncedAt = &now
	for f, c := range m.Conflicts {
		if t.Conflict == nil {
			t.Conflict = map[string]task.Conflict{}
		}
		t.Conflict[f] = c
	}
	if err := writeTask(ctx, tx, &t, false); err != nil {
		return err
	}
	if len(m.RemoteChanged) > 0 {
		res.Updated++
	}
	if len(m.Conflicts) > 0 {
		res.Conflicts++
	}
	if len(m.RemoteChanged) == 0 && len(m.Conflicts) == 0 {
		res.Unchanged++
		return nil
	}
	return LogActivity(ctx, tx, Activity{ClientID: &clientID, Actor: "system:task-sync", Action: "task.pull", Entity: "task", EntityID: t.ID.String(),
		Details: map[string]any{"fields": m.RemoteChanged, "conflicts": m.Conflicts}})
}

// TaskBacklog is one task still waiting for Airtable, and why.
type TaskBacklog struct {
	ID     uuid.UUID `json:"id"`
	Reason string    `json:"reason"`
}

// TaskSyncStatus is what is left to do for a client's tasks.
type TaskSyncStatus struct {
	Pending   []TaskBacklog `json:"pending"` // up to 100
	PendingN  int           `json:"pending_count"`
	Conflicts int           `json:"conflict_count"`
}

// GetTaskSyncStatus lists the client's tasks Airtable does not have yet.
func (s *Store) GetTaskSyncStatus(ctx context.Context, clientID uuid.UUID) (TaskSyncStatus, error) {
	st := TaskSyncStatus{Pending: []TaskBacklog{}}
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE push_pending), count(*) FILTER (WHERE sync_state = 'conflict')
		FROM tasks WHERE client_id = $1`, clientID).Scan(&st.PendingN, &st.Conflicts)
	if err != nil {
		return st, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, CASE WHEN last_error <> '' THEN last_error
		WHEN airtable_record_id IS NULL THEN 'not yet created in Airtable' ELSE 'local edit not yet written to Airtable' END
		FROM tasks WHERE client_id = $1 AND push_pending ORDER BY id LIMIT 100`, clientID)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var b TaskBacklog
		if err := rows.Scan(&b.ID, &b.Reason); err != nil {
			return st, err
		}
		st.Pending = append(st.Pending, b)
	}
	return st, rows.Err()
}
