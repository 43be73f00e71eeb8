// Package activities holds every side effect of Nurture's workflows:
// database steps, alerts and third-party calls. Activities are methods on
// structs that carry their dependencies; workflows refer to them through
// nil pointers of those types.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/store"
)

// Campaign holds the campaign activities' dependencies.
type Campaign struct {
	Store *store.Store
	Log   *zap.Logger
}

// CampaignInfo is what the workflow needs to know about its campaign.
type CampaignInfo struct {
	Status   string
	ClientID string
	StartAt  *time.Time
	Enrolled int
}

// ErrTypeNotFound marks a campaign whose row does not exist.
const ErrTypeNotFound = "NotFound"

// LoadCampaign reads the campaign row. Not finding it is retried for a
// while: the API starts the workflow just before it commits the row.
func (a *Campaign) LoadCampaign(ctx context.Context, campaignID string) (CampaignInfo, error) {
	id, err := uuid.Parse(campaignID)
	if err != nil {
		return CampaignInfo{}, temporal.NewNonRetryableApplicationError("bad campaign id", "InvalidInput", err)
	}
	c, err := a.Store.GetCampaign(ctx, nil, id)
	if errors.Is(err, store.ErrNotFound) {
		return CampaignInfo{}, temporal.NewApplicationError("campaign row not found", ErrTypeNotFound)
	}
	if err != nil {
		return CampaignInfo{}, err
	}
	return CampaignInfo{Status: c.Status, ClientID: c.ClientID.String(), StartAt: c.StartAt, Enrolled: c.EnrolledCount}, nil
}

// SetStatusInput records a status change.
type SetStatusInput struct {
	CampaignID string
	Status     string
	LastError  string
	StartAt    *time.Time
}

// SetStatus writes status, last_error and (if set) start_at.
func (a *Campaign) SetStatus(ctx context.Context, in SetStatusInput) error {
	return a.Store.SetCampaignStatus(ctx, uuid.MustParse(in.CampaignID), in.Status, in.LastError, in.StartAt)
}

// Cancel marks the campaign cancelled and releases its leads.
func (a *Campaign) Cancel(ctx context.Context, campaignID string) error {
	return a.Store.CancelCampaign(ctx, uuid.MustParse(campaignID))
}

// Activate moves the campaign to enrolling; it fails (retryably) while the
// client is disabled.
func (a *Campaign) Activate(ctx context.Context, campaignID string) (int, error) {
	matched, err := a.Store.ActivateCampaign(ctx, uuid.MustParse(campaignID))
	if err != nil {
		return 0, fmt.Errorf("activate: %w", err)
	}
	return matched, nil
}

// EnrollInput asks for one chunk of enrollment work.
type EnrollInput struct {
	CampaignID string
	Cursor     string // last lead id considered ("" = from the start)
	BatchSize  int
	// Budget bounds the chunk so the workflow sees progress regularly.
	Budget time.Duration
}

// EnrollResult is where the chunk stopped.
type EnrollResult struct {
	Total   int // the campaign's enrolled_count, from the database
	Added   int
	Cursor  string
	Done    bool // no eligible lead after Cursor
	Capped  bool
	Stopped bool // no longer enrolling (cancelled)
	Batches int
}

// EnrollChunk claims eligible leads batch after batch (each batch one
// transaction, see store.EnrollBatch) until the budget is spent, the cap is
// reached or the leads run out, heartbeating its cursor so a retry after a
// crash resumes where the last committed batch ended.
func (a *Campaign) EnrollChunk(ctx context.Context, in EnrollInput) (EnrollResult, error) {
	id := uuid.MustParse(in.CampaignID)
	cursor := uuid.Nil
	if in.Cursor != "" {
		cursor = uuid.MustParse(in.Cursor)
	}
	if activity.HasHeartbeatDetails(ctx) {
		var hb string
		if err := activity.GetHeartbeatDetails(ctx, &hb); err == nil && hb != "" {
			cursor = uuid.MustParse(hb)
		}
	}
	if in.BatchSize <= 0 {
		in.BatchSize = 10000
	}
	deadline := time.Now().Add(in.Budget)
	var out EnrollResult
	for {
		res, err := a.Store.EnrollBatch(ctx, id, cursor, in.BatchSize)
		if err != nil {
			return out, fmt.Errorf("enroll batch: %w", err)
		}
		out.Batches++
		out.Added += res.Enrolled
		out.Total = res.Total
		cursor = res.Cursor
		activity.RecordHeartbeat(ctx, cursor.String())
		switch {
		case res.Stopped:
			out.Stopped = true
		case res.Capped:
			out.Capped = true
		case res.Scanned < res.Limit:
			out.Done = true
		}
		if out.Stopped || out.Capped || out.Done || time.Now().After(deadline) {
			out.Cursor = cursor.String()
			return out, nil
		}
	}
}

// Finalize sets the end state from the enrollment rows.
func (a *Campaign) Finalize(ctx context.Context, campaignID string) (store.FinalizeResult, error) {
	return a.Store.FinalizeEnrollment(ctx, uuid.MustParse(campaignID))
}
