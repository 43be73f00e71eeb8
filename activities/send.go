package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/quiet"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/twilioapi"
	"github.com/nurture-sms/nurture/internal/tz"
)

// Messenger is the SMS provider (twilioapi.Messenger: the official
// twilio-go client against Twilio or the local emulator).
type Messenger interface {
	Send(to, from, body, callback string) (sid, status string, err error)
	Find(to, from, body string, since time.Time) (sid, status string, found bool, err error)
}

// Sender holds the sequence-sending activity's dependencies.
type Sender struct {
	Store     *store.Store
	Log       *zap.Logger
	Messenger Messenger
	// DefaultFrom is the deployment's sending number, for clients without their own.
	DefaultFrom string
	// Account names the provider account in the shared rate schedule.
	Account string
	// StatusCallback is the public URL of POST /v1/webhooks/sms/status;
	// each send adds ?send_id=<ledger row>.
	StatusCallback string
	// RatePerNumber and RatePerAccount are messages per second shared by
	// every worker (0: no limit).
	RatePerNumber, RatePerAccount float64
	// Concurrency is how many provider calls one activity makes at once.
	Concurrency int
	// ClaimBatch is how many due steps one claim statement takes.
	ClaimBatch int
	// StaleAfter: a row left in sending longer than this is reconciled
	// (no call can still be in flight: longer than the HTTP timeout).
	StaleAfter time.Duration
	// Penalty is how long every worker waits after the provider's 429.
	Penalty time.Duration
}

func (a *Sender) defaults() {
	if a.Concurrency <= 0 {
		a.Concurrency = 32
	}
	if a.ClaimBatch <= 0 {
		a.ClaimBatch = 1000
	}
	if a.StaleAfter <= 0 {
		a.StaleAfter = 45 * time.Second
	}
	if a.Penalty <= 0 {
		a.Penalty = time.Second
	}
	if a.Log == nil {
		a.Log = zap.NewNop()
	}
}

// SendInput asks to send a campaign's due steps for a while.
type SendInput struct {
	CampaignID string
	Budget     time.Duration
}

// SendResult is what one SendDue did, and what is next.
type SendResult struct {
	Sent, Failed, Skipped, Deferred, Released, Reconciled, Unknown int
	// Active enrollments left (0: the sequence is done).
	Active int
	// NextDue: how long until the next step falls due (after the budget).
	NextDue time.Duration
	// Stopped: the campaign is no longer active (paused, cancelled).
	Stopped bool
}

func (r *SendResult) add(o SendResult) {
	r.Sent += o.Sent
	r.Failed += o.Failed
	r.Skipped += o.Skipped
	r.Deferred += o.Deferred
	r.Released += o.Released
	r.Reconciled += o.Reconciled
	r.Unknown += o.Unknown
}

// SendDue sends the campaign's due steps until its budget is spent, the
// campaign stops being active, or nothing is due within the budget. Each
// step goes at most once: its ledger row is claimed (one statement that
// re-checks the lead and the campaign), moved to sending just before the
// call (re-checked again: a STOP or a pause since the claim keeps it from
// going), and settled from the provider's answer. The provider is called
// outside any transaction. Rows a crashed attempt left behind are first
// reconciled with the provider, never sent blindly again.
func (a *Sender) SendDue(ctx context.Context, in SendInput) (SendResult, error) {
	a.defaults()
	id, err := parseID("campaign id", in.CampaignID)
	if err != nil {
		return SendResult{}, err
	}
	plan, err := a.Store.LoadSendPlan(ctx, id)
	if err != nil {
		return SendResult{}, fmt.Errorf("load campaign: %w", err)
	}
	var res SendResult
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &res) // the totals of an attempt that died
	}
	beat := func() { activity.RecordHeartbeat(ctx, res) }
	if plan.Status != campaign.StatusActive {
		res.Stopped = true
		return res, nil
	}
	rec, err := a.reconcile(ctx, plan)
	res.add(rec)
	if err != nil {
		return res, err
	}
	beat()
	from := plan.From
	if from == "" {
		from = a.DefaultFrom
	}
	window := quiet.Window{Start: plan.QuietStart, End: plan.QuietEnd, Days: quiet.Days(plan.SendDays)}
	if window.Validate() != nil {
		window = quiet.Default
	}
	limit := quiet.Cap{Max: plan.MaxPerDay, Period: 24 * time.Hour}
	clientLoc, ok := tz.Load(plan.ClientTZ)
	if !ok {
		clientLoc = time.UTC
	}
	deadline := time.Now().Add(in.Budget)
	var analyzed time.Time
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if time.Since(analyzed) > 5*time.Second {
			if _, err := a.Store.RefreshStats(ctx); err != nil {
				a.Log.Warn("refresh statistics", zap.Error(err))
			}
			analyzed = time.Now()
		}
		due, now, err := a.Store.DueEnrollments(ctx, id, a.ClaimBatch)
		if err != nil {
			return res, err
		}
		if len(due) == 0 {
			wait, active, err := a.Store.NextDue(ctx, id, a.StaleAfter)
			if err != nil {
				return res, err
			}
			res.Active = active
			if active == 0 {
				return res, nil
			}
			if wait == 0 {
				// Rows left open have gone stale: settle them now.
				rec, err := a.reconcile(ctx, plan)
				res.add(rec)
				if err != nil {
					return res, err
				}
			}
			if left := time.Until(deadline); wait > left {
				res.NextDue = wait - left
				return res, nil
			}
			if err := sleepCtx(ctx, min(wait+10*time.Millisecond, 250*time.Millisecond)); err != nil {
				return res, err
			}
			beat()
			continue
		}
		// The window in the lead's own zone (the client's when the lead
		// has none) and the cap across campaigns decide what goes now.
		leadIDs := make([]uuid.UUID, len(due))
		for i, d := range due {
			leadIDs[i] = d.LeadID
		}
		recent, err := a.Store.RecentSends(ctx, leadIDs, now.Add(-limit.Period))
		if err != nil {
			return res, err
		}
		var later []store.Deferral
		var sends []store.NewSend
		closes := make(map[uuid.UUID]time.Time, len(due)) // by lead: when its window closes
		for _, d := range due {
			loc := clientLoc
			if d.Timezone != "" && d.Timezone != "UTC" {
				if l, ok := tz.Load(d.Timezone); ok {
					loc = l
				}
			}
			at := window.Next(now, loc)
			if r, ok := recent[d.LeadID]; ok {
				if c := limit.Next(now, r.Count, r.Oldest); c.After(at) {
					at = window.Next(c, loc)
				}
			}
			if at.After(now) {
				later = append(later, store.Deferral{LeadID: d.LeadID, DueAt: at})
				continue
			}
			if d.Step >= len(plan.Steps) {
				continue // cannot happen: the last step completes the enrollment
			}
			closes[d.LeadID] = window.Close(now, loc)
			sends = append(sends, store.NewSend{ID: uuid.New(), LeadID: d.LeadID, Step: d.Step, To: d.Phone, From: from, DueAt: d.DueAt,
				Body: campaign.Render(plan.Steps[d.Step].Body, campaign.Values{FirstName: d.FirstName, LastName: d.LastName,
					BookingLink: plan.BookingLink, ClientName: plan.ClientName})})
		}
		if err := a.Store.Defer(ctx, id, later); err != nil {
			return res, err
		}
		res.Deferred += len(later)
		claimed, err := a.Store.ClaimSends(ctx, id, sends)
		if err != nil {
			return res, err
		}
		byID := make(map[uuid.UUID]store.NewSend, len(sends))
		closeAt := make(map[uuid.UUID]time.Time, len(sends)) // by send, on this host's clock
		for _, s := range sends {
			byID[s.ID] = s
			closeAt[s.ID] = time.Now().Add(closes[s.LeadID].Sub(now))
		}
		if len(claimed) < len(sends) {
			// Some were refused by the claim's checks: the campaign stopped
			// being active, or leads stopped, booked or were staged.
			st, err := a.Store.CampaignStatus(ctx, id)
			if err != nil {
				return res, err
			}
			if st != campaign.StatusActive {
				_, _, err := a.Store.SettleUnsent(ctx, claimed)
				res.Stopped = true
				return res, err
			}
			got := make(map[uuid.UUID]bool, len(claimed))
			for _, c := range claimed {
				got[c] = true
			}
			var refused []uuid.UUID
			for _, s := range sends {
				if !got[s.ID] {
					refused = append(refused, s.LeadID)
				}
			}
			ended, err := a.Store.EndIneligible(ctx, id, refused)
			if err != nil {
				return res, err
			}
			res.Skipped += ended
		}
		// Micro-batches: each moves its rows to sending (the last check)
		// and makes its calls concurrently, paced by the shared schedule;
		// a rate keeps a batch to about half a second of sending, so a
		// pause waits at most that long for the calls already let go.
		step := a.microBatch()
		for i := 0; i < len(claimed); i += step {
			batch := claimed[i:min(i+step, len(claimed))]
			if err := ctx.Err(); err != nil {
				_, _, _ = a.Store.SettleUnsent(context.WithoutCancel(ctx), claimed[i:])
				return res, err
			}
			out, stop, err := a.sendBatch(ctx, plan, byID, closeAt, batch, beat)
			res.add(out)
			beat()
			if err != nil {
				return res, err
			}
			if stop {
				// Paused or cancelled: nothing more reaches the provider;
				// the rest of the claim is released for a resume.
				rel, skip, err := a.Store.SettleUnsent(ctx, claimed[i+len(batch):])
				res.Released += rel
				res.Skipped += skip
				res.Stopped = true
				return res, err
			}
		}
	}
	wait, active, err := a.Store.NextDue(ctx, id, a.StaleAfter)
	res.Active, res.NextDue = active, wait
	return res, err
}

// sendBatch sends one micro-batch: moves its rows to sending, reserves
// their slots, calls the provider concurrently and records the answers.
// stop says the campaign is no longer active.
func (a *Sender) sendBatch(ctx context.Context, plan store.SendPlan, byID map[uuid.UUID]store.NewSend, closeAt map[uuid.UUID]time.Time,
	ids []uuid.UUID, beat func()) (SendResult, bool, error) {
	var res SendResult
	// A row whose window closed since the claim is released: the next
	// round defers it to the window's next opening.
	var late []uuid.UUID
	open := ids[:0:0]
	for _, id := range ids {
		if !time.Now().Before(closeAt[id]) {
			late = append(late, id)
		} else {
			open = append(open, id)
		}
	}
	if len(late) > 0 {
		rel, skip, err := a.Store.SettleUnsent(ctx, late)
		if err != nil {
			return res, false, err
		}
		res.Released += rel
		res.Skipped += skip
	}
	ids = open
	if len(ids) == 0 {
		return res, false, nil
	}
	marked := time.Now()
	ok, err := a.Store.MarkSending(ctx, plan.CampaignID, ids)
	if err != nil {
		return res, false, err
	}
	stop := false
	if len(ok) < len(ids) {
		// A STOP, a reply or a booking since the claim (skipped), or the
		// campaign paused or cancelled (released).
		going := make(map[uuid.UUID]bool, len(ok))
		for _, id := range ok {
			going[id] = true
		}
		var not []uuid.UUID
		for _, id := range ids {
			if !going[id] {
				not = append(not, id)
			}
		}
		rel, skip, err := a.Store.SettleUnsent(ctx, not)
		if err != nil {
			return res, false, err
		}
		res.Released += rel
		res.Skipped += skip
		stop = rel > 0
	}
	if len(ok) == 0 {
		return res, stop, nil
	}
	msgs := make([]store.NewSend, len(ok))
	for i, id := range ok {
		msgs[i] = byID[id]
	}
	// No call starts later than a quarter of StaleAfter after its row went
	// to sending, nor after its window closed: a row is reconciled only
	// when no call for it can still be in flight.
	latest := make([]time.Time, len(msgs))
	for i, m := range msgs {
		latest[i] = marked.Add(a.StaleAfter / 4)
		if c := closeAt[m.ID]; c.Before(latest[i]) {
			latest[i] = c
		}
	}
	results, callErr := a.call(ctx, plan, msgs, latest, beat)
	var recorded []store.SendResult
	var release []uuid.UUID
	for _, r := range results {
		switch r.outcome {
		case outcomeRelease:
			release = append(release, r.id)
		case outcomeSent:
			res.Sent++
			recorded = append(recorded, store.SendResult{ID: r.id, Status: store.SendSent, SID: r.sid})
		case outcomeFailed:
			res.Failed++
			recorded = append(recorded, store.SendResult{ID: r.id, Status: store.SendFailed, ErrorCode: r.code, Error: r.err})
		case outcomeOpen:
			// Left in sending: reconciled with the provider once no call
			// can still be in flight, never sent again blindly.
		}
	}
	wctx := context.WithoutCancel(ctx) // what happened at the provider is recorded, whatever else
	if err := a.Store.RecordResults(wctx, plan.CampaignID, plan.Steps, recorded); err != nil {
		return res, stop, err
	}
	if len(release) > 0 {
		n, err := a.Store.ReleaseOpen(wctx, release)
		if err != nil {
			return res, stop, err
		}
		res.Released += n
	}
	return res, stop, callErr
}

type outcome int

const (
	outcomeSent outcome = iota
	outcomeFailed
	// outcomeOpen: the provider may have the message; the row stays in
	// sending and is reconciled, never sent again blindly.
	outcomeOpen
	// outcomeRelease: the provider certainly has no message (never
	// called, or a 429 / account error that creates none): the row is
	// deleted and the step claimed again, with every check.
	outcomeRelease
)

type callResult struct {
	id      uuid.UUID
	outcome outcome
	sid     string
	code    int
	err     string
}

// call makes the provider calls of one micro-batch, at most Concurrency
// at a time, each at its slot of the shared schedule and never after its
// latest start (then it is released unsent). Only a definite answer
// settles a row: a message created is sent; 21610 (the recipient opted
// out at the provider) stops the lead; a refusal about the recipient
// fails the step. A 429 creates no message: the row is released, every
// worker's schedule is pushed back, and the step goes again through a new
// claim (which re-checks STOP, pause and cancel). A 5xx or no answer at all
// proves nothing, so the row stays open and is reconciled with the
// provider, never re-sent blindly. An account error (bad credentials, a
// sending number the account cannot use) releases the row and fails the
// round, so the campaign waits for the configuration to be fixed instead
// of failing every lead.
func (a *Sender) call(ctx context.Context, plan store.SendPlan, msgs []store.NewSend, latest []time.Time, beat func()) ([]callResult, error) {
	out := make([]callResult, len(msgs))
	waits, err := a.slots(ctx, msgs[0].From, len(msgs))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var mu sync.Mutex
	throttled := false
	var accountErr error
	sem := make(chan struct{}, a.Concurrency)
	var wg sync.WaitGroup
	for i := range msgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if d := time.Until(start.Add(waits[i])); d > 0 {
				time.Sleep(d)
			}
			m := msgs[i]
			r := callResult{id: m.ID, outcome: outcomeRelease}
			mu.Lock()
			stopped := throttled || accountErr != nil
			mu.Unlock()
			if stopped || ctx.Err() != nil || !time.Now().Before(latest[i]) {
				out[i] = r
				return
			}
			cb := ""
			if a.StatusCallback != "" {
				cb = a.StatusCallback + "?send_id=" + url.QueryEscape(m.ID.String())
			}
			sid, _, err := a.Messenger.Send(m.To, m.From, m.Body, cb)
			if err == nil {
				r.outcome, r.sid = outcomeSent, sid
				out[i] = r
				return
			}
			kind, code := twilioapi.Classify(err)
			r.code, r.err = code, err.Error()
			switch kind {
			case twilioapi.Unsubscribed:
				if _, _, oerr := a.Store.OptOut(context.WithoutCancel(ctx), plan.ClientID, m.To, "provider:21610"); oerr != nil {
					a.Log.Error("record provider opt-out", zap.Error(oerr))
				}
				r.outcome = outcomeFailed
			case twilioapi.Refused:
				r.outcome = outcomeFailed
			case twilioapi.Throttled:
				mu.Lock()
				throttled = true
				mu.Unlock()
			case twilioapi.Account:
				mu.Lock()
				if accountErr == nil {
					accountErr = fmt.Errorf("the SMS provider refused the account or sending number (code %d): %w", code, err)
				}
				mu.Unlock()
			default: // a 5xx or no answer: open, reconciled later
				r.outcome = outcomeOpen
				a.Log.Warn("send left open for reconciliation", zap.String("send_id", m.ID.String()), zap.Int("code", code), zap.Error(err))
			}
			out[i] = r
		}()
	}
	wg.Wait()
	if throttled {
		if a.Account != "" {
			if err := a.Store.PenalizeSMS(context.WithoutCancel(ctx), rateKey("account", a.Account), a.Penalty); err != nil {
				return out, err
			}
		}
		for end := time.Now().Add(a.Penalty); time.Now().Before(end); {
			if sleepCtx(ctx, min(time.Until(end), 5*time.Second)) != nil {
				break
			}
			beat()
		}
	}
	if accountErr != nil {
		a.Log.Error("send refused for the account", zap.Error(accountErr))
	}
	return out, accountErr
}

// slots reserves n send slots on the sending number's and the account's
// shared schedules and answers, for each message, how long after now it
// may go (the later of the two schedules).
func (a *Sender) slots(ctx context.Context, from string, n int) ([]time.Duration, error) {
	waits := make([]time.Duration, n)
	for _, lim := range []struct {
		key  string
		rate float64
	}{{rateKey("number", from), a.RatePerNumber}, {rateKey("account", a.Account), a.RatePerAccount}} {
		if lim.rate <= 0 {
			continue
		}
		interval := time.Duration(float64(time.Second) / lim.rate)
		first, err := a.Store.ReserveSMSSlots(ctx, lim.key, n, interval)
		if err != nil {
			return nil, err
		}
		for i := range waits {
			waits[i] = max(waits[i], first+time.Duration(i)*interval)
		}
	}
	return waits, nil
}

func rateKey(kind, name string) string { return kind + ":" + name }

// microBatch is how many rows one MarkSending lets go: twice the
// concurrency, or half a second's worth at the configured rate.
func (a *Sender) microBatch() int {
	n := a.Concurrency * 2
	for _, r := range []float64{a.RatePerNumber, a.RatePerAccount} {
		if r > 0 {
			n = min(n, max(1, int(r/2)))
		}
	}
	return n
}

// reconcile settles what an earlier attempt left open: claimed rows are
// released (nobody called the provider), sending rows the status callback
// settled are recorded, the others are looked up at the provider (a
// message to that number with that body since the row was claimed): found
// is sent, proven absent is released to go again, and a lookup that
// fails leaves the row unknown (counted and alerted, never re-sent).
func (a *Sender) reconcile(ctx context.Context, plan store.SendPlan) (SendResult, error) {
	var res SendResult
	for {
		open, err := a.Store.StaleOpen(ctx, plan.CampaignID, a.StaleAfter, 500)
		if err != nil {
			return res, err
		}
		if len(open) == 0 {
			break
		}
		var release, unknown []uuid.UUID
		var settled []store.SendResult
		for _, o := range open {
			switch {
			case o.Status == store.SendClaimed:
				release = append(release, o.ID)
			case o.SID != "":
				settled = append(settled, store.SendResult{ID: o.ID, Status: store.SendSent, SID: o.SID})
			default:
				sid, _, found, err := a.Messenger.Find(o.To, o.From, o.Body, o.ClaimedAt)
				switch {
				case err != nil:
					a.Log.Error("reconcile: provider lookup failed", zap.String("send_id", o.ID.String()), zap.Error(err))
					unknown = append(unknown, o.ID)
				case found:
					settled = append(settled, store.SendResult{ID: o.ID, Status: store.SendSent, SID: sid})
				default:
					release = append(release, o.ID)
				}
			}
		}
		n, err := a.Store.ReleaseOpen(ctx, release)
		if err != nil {
			return res, err
		}
		res.Released += n
		if err := a.Store.RecordResults(ctx, plan.CampaignID, plan.Steps, settled); err != nil {
			return res, err
		}
		res.Reconciled += len(settled)
		u, err := a.Store.MarkUnknown(ctx, unknown, "the provider could not be asked whether it has this message")
		if err != nil {
			return res, err
		}
		res.Unknown += u
		activity.RecordHeartbeat(ctx, res)
		if len(open) < 500 {
			break
		}
	}
	// Rows a status callback settled while their sender was gone.
	return res, a.Store.AdvanceSettled(ctx, plan.CampaignID, plan.Steps)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrNoMessenger: the worker has no SMS provider configured.
var ErrNoMessenger = errors.New("no SMS provider configured")
