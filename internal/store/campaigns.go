package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Campaign is a targeted SMS sequence for one client's leads.
type Campaign struct {
	ID                 uuid.UUID       `json:"id" db:"id"`
	ClientID           uuid.UUID       `json:"client_id" db:"client_id"`
	Name               string          `json:"name" db:"name"`
	Audience           json.RawMessage `json:"audience" db:"audience"`
	Messages           json.RawMessage `json:"messages" db:"messages"`
	StartAt            *time.Time      `json:"start_at" db:"start_at"`
	MaxLeads           *int            `json:"max_leads" db:"max_leads"`
	Status             string          `json:"status" db:"status"`
	EnrollmentStatus   string          `json:"enrollment_status" db:"enrollment_status"`
	EnrolledCount      int             `json:"enrolled_count" db:"enrolled_count"`
	MatchedCount       int             `json:"matched_count" db:"matched_count"`
	ActivationAttempts int             `json:"activation_attempts" db:"activation_attempts"`
	LastError          string          `json:"last_error" db:"last_error"`
	WorkflowID         string          `json:"workflow_id" db:"workflow_id"`
	CreatedAt          time.Time       `json:"created_at" db:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at" db:"updated_at"`
	ActivatedAt        *time.Time      `json:"activated_at" db:"activated_at"`
	WriteBackError     string          `json:"writeback_error" db:"writeback_error"`
	BookingLink        string          `json:"booking_link" db:"booking_link"`
	StopOnReply        bool            `json:"stop_on_reply" db:"stop_on_reply"`
	QuietStart         *int            `json:"quiet_start_minutes" db:"quiet_start"`
	QuietEnd           *int            `json:"quiet_end_minutes" db:"quiet_end"`
	SendDays           *int            `json:"send_days" db:"send_days"`
	CompletedAt        *time.Time      `json:"completed_at" db:"completed_at"`
}

const campaignCols = `id, client_id, name, audience, messages, start_at, max_leads, status, enrollment_status,
	enrolled_count, matched_count, activation_attempts, last_error, workflow_id, created_at, updated_at, activated_at, writeback_error,
	booking_link, stop_on_reply, quiet_start, quiet_end, send_days, completed_at`

// GetCampaign loads one campaign in scope (nil scope: any client).
func (s *Store) GetCampaign(ctx context.Context, scope *uuid.UUID, id uuid.UUID) (Campaign, error) {
	return one[Campaign](ctx, s.Pool, `SELECT `+campaignCols+` FROM campaigns
		WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2)`, id, scope)
}
