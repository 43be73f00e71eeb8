package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Campaign is a targeted SMS sequence for one client's leads.
type Campaign struct {
	ID                 uuid.UUID       `json:"id"`
	ClientID           uuid.UUID       `json:"client_id"`
	Name               string          `json:"name"`
	Audience           json.RawMessage `json:"audience"`
	Messages           json.RawMessage `json:"messages"`
	StartAt            *time.Time      `json:"start_at"`
	MaxLeads           *int            `json:"max_leads"`
	Status             string          `json:"status"`
	EnrollmentStatus   string          `json:"enrollment_status"`
	EnrolledCount      int             `json:"enrolled_count"`
	MatchedCount       int             `json:"matched_count"`
	ActivationAttempts int             `json:"activation_attempts"`
	LastError          string          `json:"last_error"`
	WorkflowID         string          `json:"workflow_id"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
	ActivatedAt        *time.Time      `json:"activated_at"`
	WriteBackError     string          `json:"writeback_error"`
}

const campaignCols = `id, client_id, name, audience, messages, start_at, max_leads, status, enrollment_status,
	enrolled_count, matched_count, activation_attempts, last_error, workflow_id, created_at, updated_at, activated_at, writeback_error`

func scanCampaign(row interface{ Scan(...any) error }) (Campaign, error) {
	var c Campaign
	err := row.Scan(&c.ID, &c.ClientID, &c.Name, &c.Audience, &c.Messages, &c.StartAt, &c.MaxLeads, &c.Status,
		&c.EnrollmentStatus, &c.EnrolledCount, &c.MatchedCount, &c.ActivationAttempts, &c.LastError, &c.WorkflowID,
		&c.CreatedAt, &c.UpdatedAt, &c.ActivatedAt, &c.WriteBackError)
	return c, err
}

// GetCampaign loads one campaign in scope (nil scope: any client).
func (s *Store) GetCampaign(ctx context.Context, scope *uuid.UUID, id uuid.UUID) (Campaign, error) {
	c, err := scanCampaign(s.Pool.QueryRow(ctx, `SELECT `+campaignCols+` FROM campaigns
		WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2)`, id, scope))
	return c, notFound(err)
}
