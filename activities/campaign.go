// Package activities holds every side effect of Nurture's workflows:
// database steps, alerts and third-party calls. Activities are methods on
// structs that carry their dependencies; workflows refer to them through
// nil pointers of those types.
package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

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

// Audit is the audit row written together with the change an Update made
// (who asked, which action, the API request).
type Audit struct {
	Actor     string
	Action    string
	RequestID string
	Details   map[string]any
}

// activity is the audit row (its client is filled in by the store, from
// the entity's row).
func (a *Audit) activity(entity, entityID string) *store.Activity {
	if a == nil {
		return nil
	}
	d := map[string]any{}
	for k, v := range a.Details {
		d[k] = v
	}
	if a.RequestID != "" {
		d["request_id"] = a.RequestID
	}
	return &store.Activity{Actor: a.Actor, Action: a.Action, Entity: entity, EntityID: entityID, Details: d}
}

// SetStatusInput records a status change.
type SetStatusInput struct {
	CampaignID string
	Status     string
	LastError  string
	StartAt    *time.Time
	Audit      *Audit // the Update that asked for it, if any
}

// SetStatus writes status, last_error and (if set) start_at, with the audit
// row of the Update that asked for it.
func (a *Campaign) SetStatus(ctx context.Context, in SetStatusInput) error {
	id, err := parseID("campaign id", in.CampaignID)
	if err != nil {
		return err
	}
	return a.Store.SetCampaignStatus(ctx, id, in.Status, in.LastError, in.StartAt, in.Audit.activity("campaign", in.CampaignID))
}

// CancelInput names the campaign to cancel and the Update that asked.
type CancelInput struct {
	CampaignID string
	Audit      *Audit
}

// Cancel marks the campaign cancelled and releases its leads.
func (a *Campaign) Cancel(ctx context.Context, in CancelInput) error {
	id, err := parseID("campaign id", in.CampaignID)
	if err != nil {
		return err
	}
	return a.Store.CancelCampaign(ctx, id, in.Audit.activity("campaign", in.CampaignID))
}

// Activate moves the campaign to enrolling; it fails (retryably) while the
// client is disabled, and for good once the campaign was cancelled.
func (a *Campaign) Activate(ctx context.Context, campaignID string) (int, error) {
	id, err := parseID("campaign id", campaignID)
	if err != nil {
		return 0, err
	}
	matched, err := a.Store.ActivateCampaign(ctx, id)
	if errors.Is(err, store.ErrCancelled) {
		return 0, temporal.NewNonRetryableApplicationError("campaign is cancelled", ErrTypeCancelled, err)
	}
	if err != nil {
		return 0, fmt.Errorf("activate: %w", err)
	}
	return matched, nil
}

// ErrTypeCancelled: the campaign was cancelled while an activity ran.
const ErrTypeCancelled = "Cancelled"

// parseID parses an id an activity was given; a malformed one is bad input
// (a bug upstream), which retrying cannot fix.
func parseID(what, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, temporal.NewNonRetryableApplicationError("bad "+what+" "+strconv.Quote(s), "InvalidInput", err)
	}
	return id, nil
}

// EnrollInput asks for one chunk of enrollment work.
type EnrollInput struct {
	CampaignID string
	// Cursors: per stream, the last lead id considered (nil = from the start).
	Cursors   []string
	Streams   int // parallel streams over disjoint id ranges (capped campaigns use 1)
	BatchSize int
	// Budget bounds the chunk so the workflow sees progress regularly.
	Budget time.Duration
}

// EnrollResult is where the chunk stopped.
type EnrollResult struct {
	Total   int // the campaign's enrolled_count, from the database
	Added   int
	Cursors []string
	Done    bool // every stream reached the end of its range
	Capped  bool
	Stopped bool // no longer enrolling (cancelled)
	Batches int
}

// stream is one walk over a slice of the id space.
type stream struct {
	Cursor uuid.UUID // last id considered
	UpTo   uuid.UUID // inclusive end of the range
	Done   bool
}

// splitStreams divides the uuid space into n contiguous ranges by the
// leading 16 bits.
func splitStreams(n int) []stream {
	out := make([]stream, n)
	for i := range out {
		if i > 0 {
			lo := uint16(i * 65536 / n)
			out[i].Cursor[0], out[i].Cursor[1] = byte(lo>>8), byte(lo)
			// cursor is exclusive: start just below lo
			out[i].Cursor = prevUUID(out[i].Cursor)
		}
		if i == n-1 {
			out[i].UpTo = store.MaxUUID
		} else {
			hi := uint16((i + 1) * 65536 / n)
			var u uuid.UUID
			u[0], u[1] = byte(hi>>8), byte(hi)
			out[i].UpTo = prevUUID(u)
		}
	}
	return out
}

// prevUUID is the uuid just below u (u must not be all zeros... all zeros stays).
func prevUUID(u uuid.UUID) uuid.UUID {
	for i := 15; i >= 0; i-- {
		if u[i] > 0 {
			u[i]--
			return u
		}
		u[i] = 0xff
	}
	return uuid.Nil
}

// EnrollChunk claims eligible leads batch after batch (each batch one
// transaction, see store.EnrollBatch) until the budget is spent, the cap is
// reached or the leads run out. Uncapped campaigns walk Streams disjoint id
// ranges in parallel (one connection each), which uses more than one core of
// the database. Progress (every stream's cursor) is heartbeated after each
// batch, so a retry after a crash resumes where the committed batches ended.
func (a *Campaign) EnrollChunk(ctx context.Context, in EnrollInput) (EnrollResult, error) {
	id, err := parseID("campaign id", in.CampaignID)
	if err != nil {
		return EnrollResult{}, err
	}
	if in.BatchSize <= 0 {
		in.BatchSize = 10000
	}
	n := in.Streams
	if n <= 0 {
		n = 1
	}
	capped, err := a.Store.CampaignHasCap(ctx, id)
	if err != nil {
		return EnrollResult{}, fmt.Errorf("load campaign: %w", err)
	}
	if capped {
		n = 1
	}
	streams := splitStreams(n)
	if len(in.Cursors) == n {
		for i, c := range in.Cursors {
			if c == "" {
				continue
			}
			if streams[i].Cursor, err = uuid.Parse(c); err != nil {
				return EnrollResult{}, temporal.NewNonRetryableApplicationError("bad cursor", "InvalidInput", err)
			}
			streams[i].Done = streams[i].Cursor == streams[i].UpTo
		}
	}
	if activity.HasHeartbeatDetails(ctx) {
		var hb []stream
		if err := activity.GetHeartbeatDetails(ctx, &hb); err == nil && len(hb) == n {
			streams = hb
		}
	}

	deadline := time.Now().Add(in.Budget)
	var (
		mu  sync.Mutex
		out EnrollResult
	)
	g, gctx := errgroup.WithContext(ctx)
	for i := range streams {
		g.Go(func() error {
			for !streams[i].Done {
				res, err := a.Store.EnrollBatch(gctx, id, streams[i].Cursor, streams[i].UpTo, in.BatchSize)
				if err != nil {
					return fmt.Errorf("enroll batch: %w", err)
				}
				mu.Lock()
				out.Batches++
				out.Added += res.Enrolled
				if res.Total > out.Total {
					out.Total = res.Total
				}
				streams[i].Cursor = res.Cursor
				switch {
				case res.Stopped:
					out.Stopped = true
				case res.Capped:
					out.Capped = true
				case res.Scanned < res.Limit:
					streams[i].Done = true
				}
				activity.RecordHeartbeat(ctx, append([]stream(nil), streams...))
				stop := out.Stopped || out.Capped || time.Now().After(deadline)
				mu.Unlock()
				if stop {
					return nil
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return out, err
	}
	out.Done = true
	for _, s := range streams {
		out.Done = out.Done && s.Done
		out.Cursors = append(out.Cursors, s.Cursor.String())
	}
	return out, nil
}

// Finalize sets the end state from the enrollment rows.
func (a *Campaign) Finalize(ctx context.Context, campaignID string) (store.FinalizeResult, error) {
	id, err := parseID("campaign id", campaignID)
	if err != nil {
		return store.FinalizeResult{}, err
	}
	return a.Store.FinalizeEnrollment(ctx, id)
}
