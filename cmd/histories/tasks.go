package main

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
	"github.com/nurture-sms/nurture/workflows"
)

// The TaskSync scenarios (issue 12). The API below runs with a 2 s task
// sync window; each scenario waits for the workflow to end on its own
// (after its quiet cycles), so the history holds the whole path.
func init() {
	scenarios = append(scenarios,
		scenario{"task-sync-push", func(r *rec) ([]string, error) {
			if err := r.taskBase(); err != nil {
				return nil, err
			}
			id, err := r.createTask("Push me")
			if err != nil {
				return nil, err
			}
			if err := waitFor("task created in Airtable", func() (bool, error) { return r.taskState(id, "synced") }); err != nil {
				return nil, err
			}
			if err := r.expect("PATCH", "/v1/tasks/"+id, map[string]any{"status": "done"}, nil, 200); err != nil {
				return nil, err
			}
			if err := waitFor("edit pushed", func() (bool, error) { return r.taskState(id, "synced") }); err != nil {
				return nil, err
			}
			wid := workflows.TaskSyncWorkflowID(r.client.String())
			return []string{wid}, r.waitClosed(wid)
		}},
		scenario{"task-sync-conflict", func(r *rec) ([]string, error) {
			if err := r.taskBase(); err != nil {
				return nil, err
			}
			id, err := r.createTask("Both sides")
			if err != nil {
				return nil, err
			}
			if err := r.expect("POST", "/v1/tasks/sync", map[string]any{"client_id": r.client.String()}, nil, 200); err != nil {
				return nil, err
			}
			var tk struct {
				AirtableRecordID string `json:"airtable_record_id"`
			}
			if err := r.expect("PATCH", "/v1/tasks/"+id, map[string]any{"title": "local"}, &tk, 200); err != nil {
				return nil, err
			}
			if err := r.editTask(tk.AirtableRecordID, map[string]any{airtableemu.TaskFieldTitle: "remote"}); err != nil {
				return nil, err
			}
			if err := r.expect("POST", "/v1/tasks/sync", map[string]any{"client_id": r.client.String()}, nil, 200); err != nil {
				return nil, err
			}
			if ok, err := r.taskState(id, "conflict"); err != nil || !ok {
				return nil, fmt.Errorf("task %s not in conflict (%v)", id, err)
			}
			wid := workflows.TaskSyncWorkflowID(r.client.String())
			return []string{wid}, r.waitClosed(wid)
		}},
		scenario{"task-sync-force", func(r *rec) ([]string, error) {
			if err := r.taskBase(); err != nil {
				return nil, err
			}
			for i := 0; i < 12; i++ { // two POSTs of 10 and 2
				if _, err := r.createTask(fmt.Sprintf("Task %d", i)); err != nil {
					return nil, err
				}
			}
			if err := r.expect("POST", "/v1/tasks/sync", map[string]any{"client_id": r.client.String()}, nil, 200); err != nil {
				return nil, err
			}
			wid := workflows.TaskSyncWorkflowID(r.client.String())
			return []string{wid}, r.waitClosed(wid)
		}},
	)
}

// taskBase gives the scenario's client an emulator base with a Tasks table.
func (r *rec) taskBase() error {
	r.base = "appHist" + strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	if _, err := r.emu.CreateBase(r.base, "histories", airtableemu.LeadsSpec(), airtableemu.TasksSpec()); err != nil {
		return err
	}
	_, err := r.db.Pool.Exec(r.ctx, `UPDATE clients SET airtable_base_id = $2 WHERE id = $1`, r.client, r.base)
	return err
}

func (r *rec) createTask(title string) (string, error) {
	var tk struct {
		ID string `json:"id"`
	}
	err := r.expect("POST", "/v1/tasks", map[string]any{"client_id": r.client.String(), "title": title}, &tk, 201)
	return tk.ID, err
}

func (r *rec) taskState(id, want string) (bool, error) {
	var state string
	err := r.db.Pool.QueryRow(r.ctx, `SELECT sync_state FROM tasks WHERE id = $1`, id).Scan(&state)
	return state == want, err
}

func (r *rec) editTask(recordID string, fields map[string]any) error {
	c := airtable.NewClient("k")
	if err := c.SetBaseURL(r.emuURL + "/v0"); err != nil {
		return err
	}
	c.SetRateLimit(1000)
	_, err := c.GetTable(r.base, airtableemu.TasksTable).UpdateRecordsPartial(&airtable.Records{Records: []*airtable.Record{{ID: recordID, Fields: fields}}})
	return err
}
