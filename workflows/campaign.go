package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/store"
)

// Names of the campaign workflow's messages. The steering actions are
// Updates with validators (usable from the Temporal UI and `temporal
// workflow update execute --name cancel`): the caller learns at once whether
// the workflow took the action and gets the workflow's own verdict. The
// signals of the same names are what workflows started before Updates (v0
// histories) listened to; they are still read where those workflows read
// them, and nothing sends them any more.
const (
	UpdateReschedule      = "reschedule"
	UpdateCancel          = "cancel"
	UpdateRetryActivation = "retry-activation"
	UpdatePause           = "pause"
	UpdateResume          = "resume"
	QueryProgress         = "progress"

	// Legacy signal names (v0).
	SignalReschedule      = UpdateReschedule
	SignalCancel          = UpdateCancel
	SignalRetryActivation = UpdateRetryActivation
)

// SteerRequest is the argument of every campaign Update. Actor and
// RequestID name who asked (the audit row the workflow writes names them);
// an operator in the Temporal UI may leave them out. StartAt is the new
// start of a reschedule.
type SteerRequest struct {
	Actor     string     `json:"actor,omitempty"`
	RequestID string     `json:"request_id,omitempty"`
	StartAt   *time.Time `json:"start_at,omitempty"`
}

// SteerResult is the workflow's verdict on an Update it carried out.
type SteerResult struct {
	CampaignID string     `json:"campaign_id"`
	Action     string     `json:"action"`
	Status     string     `json:"status"`
	StartAt    *time.Time `json:"start_at,omitempty"`
}

// steerReq is an accepted Update waiting for the main loop, which alone
// changes the campaign's state; its handler returns once done is set.
type steerReq struct {
	taken bool // being carried out: no longer refused as stale
	kind  string
	in    SteerRequest
	done  bool
	res   SteerResult
	err   error
}

// CampaignWorkflowID is the workflow ID of a campaign.
func CampaignWorkflowID(campaignID string) string { return "campaign/" + campaignID }

// RescheduleSignal moves the start time of a campaign not yet activated.
type RescheduleSignal struct {
	StartAt time.Time `json:"start_at"`
}

// CampaignInput starts (or continues) a CampaignWorkflow.
type CampaignInput struct {
	CampaignID string
	ClientID   string
	StartAt    *time.Time
	// Tuning; zero values take the defaults below.
	BatchSize        int
	ChunkBudget      time.Duration
	ActivationRetry  *temporal.RetryPolicy
	MaxChunksPerRun  int
	Streams          int
	HeartbeatTimeout time.Duration
	// Sending: one SendDue's budget, its heartbeat timeout, and rounds
	// per run before continue-as-new.
	SendBudget    time.Duration
	SendHeartbeat time.Duration
	MaxSendRounds int
	// State carried across continue-as-new.
	State *CampaignProgress
}

// CampaignProgress is what the progress query answers.
type CampaignProgress struct {
	Status           string     `json:"status"`
	EnrollmentStatus string     `json:"enrollment_status"`
	StartAt          *time.Time `json:"start_at"`
	Enrolled         int        `json:"enrolled"`
	Matched          int        `json:"matched"`
	Cursors          []string   `json:"cursors"`
	Chunks           int        `json:"chunks"`
	Runs             int        `json:"runs"`
	ActivationTries  int        `json:"activation_tries"`
	LastError        string     `json:"last_error"`
	WrittenBack      int        `json:"written_back"`
	WriteBackError   string     `json:"writeback_error,omitempty"`
	// Sending (v2): totals over every SendDue round.
	Sent       int `json:"sent"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	Unknown    int `json:"unknown"`
	SendRounds int `json:"send_rounds"`
}

// CampaignResult is the end state.
type CampaignResult struct {
	Status           string `json:"status"`
	EnrollmentStatus string `json:"enrollment_status"`
	Enrolled         int    `json:"enrolled"`
}

// Defaults of the tuning knobs.
const (
	DefaultBatchSize       = 50000
	DefaultChunkBudget     = 5 * time.Second
	DefaultMaxChunksPerRun = 500
	DefaultStreams         = 2
	DefaultSendBudget      = 20 * time.Second
	DefaultMaxSendRounds   = 300
)

// DefaultActivationRetry: 4 attempts over ~15 s, then failed_activation + alert.
var DefaultActivationRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    30 * time.Second,
	MaximumAttempts:    4,
}

var (
	ca *activities.Campaign
	al *activities.Alerts
	sd *activities.Sender
)

// Campaign is the CampaignWorkflow: wait for start_at on a durable timer
// (re-armed by reschedule), activate with retries (alerting and waiting for
// retry-activation when that fails), enroll eligible leads in chunks with
// exact, database-verified counters, then settle on active,
// active+partial_capped or no_eligible_leads.
func Campaign(ctx workflow.Context, in CampaignInput) (*CampaignResult, error) {
	wf := &campaignWF{in: in}
	if err := wf.setup(ctx); err != nil {
		return nil, err
	}
	return wf.run(ctx)
}

type campaignWF struct {
	in        CampaignInput
	p         CampaignProgress
	reschedCh workflow.ReceiveChannel
	cancelCh  workflow.ReceiveChannel
	retryCh   workflow.ReceiveChannel
	cancelled bool
	// Accepted Updates, oldest first, and the channel that wakes the main
	// loop when one arrives (no commands: v0 histories replay unchanged).
	reqs []*steerReq
	wake workflow.Channel
	// sending: the workflow is in its sending phase (v2).
	sending bool
	// writingBack is the Airtable write-back running beside the sending
	// ("writeback-beside-send"), nil when none runs.
	writingBack workflow.Future
}

func (w *campaignWF) setup(ctx workflow.Context) error {
	if w.in.State != nil {
		w.p = *w.in.State
	} else {
		w.p.StartAt = w.in.StartAt
	}
	if w.in.BatchSize <= 0 {
		w.in.BatchSize = DefaultBatchSize
	}
	if w.in.ChunkBudget <= 0 {
		w.in.ChunkBudget = DefaultChunkBudget
	}
	if w.in.Streams <= 0 {
		w.in.Streams = DefaultStreams
	}
	if w.in.MaxChunksPerRun <= 0 {
		w.in.MaxChunksPerRun = DefaultMaxChunksPerRun
	}
	if w.in.HeartbeatTimeout <= 0 {
		w.in.HeartbeatTimeout = 20 * time.Second
	}
	if w.in.ActivationRetry == nil {
		w.in.ActivationRetry = DefaultActivationRetry
	}
	if w.in.SendBudget <= 0 {
		w.in.SendBudget = DefaultSendBudget
	}
	if w.in.SendHeartbeat <= 0 {
		w.in.SendHeartbeat = 20 * time.Second
	}
	if w.in.MaxSendRounds <= 0 {
		w.in.MaxSendRounds = DefaultMaxSendRounds
	}
	w.reschedCh = workflow.GetSignalChannel(ctx, SignalReschedule)
	w.cancelCh = workflow.GetSignalChannel(ctx, SignalCancel)
	w.retryCh = workflow.GetSignalChannel(ctx, SignalRetryActivation)
	w.wake = workflow.NewBufferedChannel(ctx, 1)
	for _, kind := range []string{UpdateCancel, UpdateReschedule, UpdateRetryActivation, UpdatePause, UpdateResume} {
		err := workflow.SetUpdateHandlerWithOptions(ctx, kind,
			func(ctx workflow.Context, in SteerRequest) (SteerResult, error) { return w.submit(ctx, kind, in) },
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in SteerRequest) error {
				return w.validate(kind, in, workflow.Now(ctx))
			}})
		if err != nil {
			return err
		}
	}
	return workflow.SetQueryHandler(ctx, QueryProgress, func() (CampaignProgress, error) { return w.p, nil })
}

// cancellable are the statuses a cancel can still stop.
func cancellable(status string) bool {
	switch status {
	case "", // starting: the row is being loaded; the cancel is carried out right after
		campaign.StatusScheduled, campaign.StatusActivating, campaign.StatusFailedActivation, campaign.StatusEnrolling,
		campaign.StatusPaused:
		return true
	}
	return false
}

// validate is every Update's validator: it refuses, with the reason, what
// the campaign cannot do now. A refused Update leaves no trace in history.
func (w *campaignWF) validate(kind string, in SteerRequest, now time.Time) error {
	for _, r := range w.reqs {
		switch {
		case r.kind == UpdateCancel:
			return temporal.NewApplicationError("the campaign is being cancelled", ErrTypeRefused)
		case r.kind == kind:
			return temporal.NewApplicationError("a "+kind+" of this campaign is already in progress", ErrTypeRefused)
		}
	}
	st := w.p.Status
	if st == "" {
		st = "starting"
	}
	switch kind {
	case UpdateCancel:
		if !cancellable(w.p.Status) && !(w.sending && w.p.Status == campaign.StatusActive) {
			return temporal.NewApplicationError("campaign is "+st+"; cancel is not possible now", ErrTypeRefused)
		}
	case UpdatePause:
		if !w.sending || w.p.Status != campaign.StatusActive {
			return temporal.NewApplicationError("campaign is "+st+"; only a campaign that is sending can be paused", ErrTypeRefused)
		}
	case UpdateResume:
		if w.p.Status != campaign.StatusPaused {
			return temporal.NewApplicationError("campaign is "+st+"; only a paused campaign can be resumed", ErrTypeRefused)
		}
	case UpdateReschedule:
		if st != campaign.StatusScheduled {
			return temporal.NewApplicationError("campaign is "+st+"; only a scheduled campaign can be rescheduled", ErrTypeRefused)
		}
		if in.StartAt == nil {
			return temporal.NewApplicationError("start_at is required", ErrTypeInvalid)
		}
		if err := campaign.ValidateStartAt(in.StartAt, now); err != nil {
			return temporal.NewApplicationError(err.Error(), ErrTypeInvalid)
		}
	case UpdateRetryActivation:
		if st != campaign.StatusFailedActivation {
			return temporal.NewApplicationError("campaign is "+st+"; retry-activation is only possible after a failed activation", ErrTypeRefused)
		}
	}
	return nil
}

// Error types of refused Updates (the API answers 409 and 400; they are
// temporalx.ErrTypeRefused and ErrTypeInvalid, which a test keeps equal).
const (
	ErrTypeRefused = "Refused"
	ErrTypeInvalid = "InvalidInput"
)

// submit queues an accepted Update for the main loop and returns its verdict.
func (w *campaignWF) submit(ctx workflow.Context, kind string, in SteerRequest) (SteerResult, error) {
	if in.Actor == "" {
		in.Actor = "temporal:operator"
	}
	r := &steerReq{kind: kind, in: in}
	w.reqs = append(w.reqs, r)
	w.wake.SendAsync(nil)
	if err := workflow.Await(ctx, func() bool { return r.done }); err != nil {
		return SteerResult{}, err
	}
	return r.res, r.err
}

// refuseStale answers the queued Updates the campaign's status no longer
// allows (a reschedule whose timer fired first, a retry after a cancel).
func (w *campaignWF) refuseStale() {
	for _, r := range slices.Clone(w.reqs) {
		if r.taken {
			continue
		}
		if (r.kind == UpdateReschedule && w.p.Status != campaign.StatusScheduled) ||
			(r.kind == UpdateRetryActivation && w.p.Status != campaign.StatusFailedActivation) ||
			(r.kind == UpdatePause && w.p.Status != campaign.StatusActive) ||
			(r.kind == UpdateResume && w.p.Status != campaign.StatusPaused) {
			w.answer(r, temporal.NewApplicationError("campaign is "+w.p.Status+"; "+r.kind+" is not possible now", ErrTypeRefused))
		}
	}
}

// answer settles a queued Update.
func (w *campaignWF) answer(r *steerReq, err error) {
	r.done, r.err = true, err
	r.res = SteerResult{CampaignID: w.in.CampaignID, Action: r.kind, Status: w.p.Status, StartAt: w.p.StartAt}
	w.reqs = slices.DeleteFunc(w.reqs, func(x *steerReq) bool { return x == r })
}

// refuseAll answers every queued Update with the campaign's state: the
// workflow is about to end (or moved on) and cannot do them.
func (w *campaignWF) refuseAll(why string) {
	for len(w.reqs) > 0 {
		r := w.reqs[0]
		w.answer(r, temporal.NewApplicationError("campaign is "+w.p.Status+"; "+r.kind+" is not possible now"+why, ErrTypeRefused))
	}
}

// finish ends the workflow: every Update still queued is refused, and the
// handlers are given the chance to return before the run closes.
func (w *campaignWF) finish(ctx workflow.Context) error {
	w.refuseAll("")
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// pending takes the queued Update of that kind, if any, for the main loop
// to carry out.
func (w *campaignWF) pending(kind string) *steerReq {
	for _, r := range w.reqs {
		if r.kind == kind && !r.taken {
			r.taken = true
			return r
		}
	}
	return nil
}

func localCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: localRetryWindow,
		RetryPolicy:            dbStepRetry,
	})
}

func (w *campaignWF) run(ctx workflow.Context) (*CampaignResult, error) {
	log := workflow.GetLogger(ctx)
	if w.p.Status == "" {
		// First run: the row must exist (the API commits it right after starting us).
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout:    10 * time.Second,
			ScheduleToCloseTimeout: 3 * time.Minute, // room for the 12 attempts
			RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 500 * time.Millisecond, MaximumInterval: 5 * time.Second, MaximumAttempts: 12},
		})
		var info activities.CampaignInfo
		if err := workflow.ExecuteLocalActivity(lctx, ca.LoadCampaign, w.in.CampaignID).Get(ctx, &info); err != nil {
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNotFound {
				log.Warn("campaign row never appeared; ending without side effects", "campaign_id", w.in.CampaignID)
				w.p.Status = campaign.StatusOrphaned
				return w.result(), w.finish(ctx)
			}
			return nil, err
		}
		w.p.Status = info.Status
		if w.p.Status == campaign.StatusScheduled && w.p.StartAt == nil {
			w.p.StartAt = info.StartAt
		}
	}

	for {
		var err error
		switch w.p.Status {
		case campaign.StatusScheduled:
			err = w.waitForStart(ctx)
		case campaign.StatusActivating, campaign.StatusFailedActivation:
			err = w.activate(ctx)
		case campaign.StatusEnrolling:
			var can bool
			can, err = w.enroll(ctx)
			if err == nil && can {
				return nil, w.continueAsNew(ctx)
			}
		case campaign.StatusActive, campaign.StatusPaused:
			// v2: an active campaign sends its sequence. Workflows that
			// reached active before v2 ended here.
			if workflow.GetVersion(ctx, "send-sequence", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
				return w.result(), w.finish(ctx)
			}
			var can bool
			can, err = w.send(ctx)
			if err == nil {
				w.awaitWriteBack(ctx)
			}
			if err == nil && can {
				return nil, w.continueAsNew(ctx)
			}
			if err == nil {
				return w.result(), w.finish(ctx)
			}
		default: // no_eligible_leads, cancelled, orphaned, completed
			return w.result(), w.finish(ctx)
		}
		if err != nil {
			return nil, err
		}
	}
}

// continueAsNew ends this run and starts the next with the progress so far.
func (w *campaignWF) continueAsNew(ctx workflow.Context) error {
	if err := w.finish(ctx); err != nil {
		return err
	}
	in := w.in
	st := w.p
	st.Runs++
	in.State = &st
	return workflow.NewContinueAsNewError(ctx, Campaign, in)
}

func (w *campaignWF) result() *CampaignResult {
	return &CampaignResult{Status: w.p.Status, EnrollmentStatus: w.p.EnrollmentStatus, Enrolled: w.p.Enrolled}
}

// setStatus records the status in the database and the search attribute;
// audit, when set, is written in the same transaction (an Update's action).
func (w *campaignWF) setStatus(ctx workflow.Context, status, lastError string, audit *activities.Audit) error {
	w.p.Status, w.p.LastError = status, lastError
	w.refuseStale()
	if err := workflow.ExecuteLocalActivity(summarizedLocal(localCtx(ctx), "status: %s", status), ca.SetStatus, activities.SetStatusInput{
		CampaignID: w.in.CampaignID, Status: status, LastError: lastError, StartAt: w.p.StartAt, Audit: audit,
	}).Get(ctx, nil); err != nil {
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx, CampaignStatusKey.ValueSet(status))
}

// doCancel cancels the campaign and frees its leads. by is the cancel
// Update being carried out (nil for a v0 signal, whose audit row the API
// wrote); it is answered once the cancel is committed.
func (w *campaignWF) doCancel(ctx workflow.Context, by *steerReq) error {
	w.cancelled = true
	w.p.Status = campaign.StatusCancelled
	in := activities.CancelInput{CampaignID: w.in.CampaignID}
	if by != nil {
		in.Audit = w.audit(by)
	}
	if err := workflow.ExecuteLocalActivity(summarizedLocal(localCtx(ctx), "cancel the campaign, free its leads"), ca.Cancel, in).Get(ctx, nil); err != nil {
		if by != nil {
			w.answer(by, err)
		}
		return err
	}
	err := workflow.UpsertTypedSearchAttributes(ctx, CampaignStatusKey.ValueSet(campaign.StatusCancelled))
	if by != nil {
		w.answer(by, nil)
	}
	return err
}

func (w *campaignWF) audit(r *steerReq) *activities.Audit {
	a := &activities.Audit{Actor: r.in.Actor, Action: "campaign." + strings.ReplaceAll(r.kind, "-", "_"), RequestID: r.in.RequestID}
	if r.in.StartAt != nil {
		a.Details = map[string]any{"start_at": r.in.StartAt.UTC()}
	}
	return a
}

// takeCancel carries out a queued cancel Update, if there is one.
func (w *campaignWF) takeCancel(ctx workflow.Context) (bool, error) {
	r := w.pending(UpdateCancel)
	if r == nil {
		return false, nil
	}
	return true, w.doCancel(ctx, r)
}

// awaitOrCancel waits for f while carrying out a cancel Update the moment
// it arrives (v0 histories have none, so their commands are unchanged). It
// reports whether the campaign was cancelled meanwhile; f is then abandoned
// (the database refuses whatever it still tries, see store.CancelCampaign).
func (w *campaignWF) awaitOrCancel(ctx workflow.Context, f workflow.Future) (bool, error) {
	for {
		w.refuseStale()
		if cancelled, err := w.takeCancel(ctx); cancelled || err != nil {
			return cancelled, err
		}
		if f.IsReady() {
			return false, nil
		}
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(f, func(workflow.Future) {})
		sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
		sel.Select(ctx)
	}
}

// waitForStart sleeps on a durable timer until start_at; reschedule re-arms it.
func (w *campaignWF) waitForStart(ctx workflow.Context) error {
	log := workflow.GetLogger(ctx)
	for {
		if w.p.StartAt == nil || !w.p.StartAt.After(workflow.Now(ctx)) {
			return w.setStatus(ctx, campaign.StatusActivating, "", nil)
		}
		tctx, cancelTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(tctx, w.p.StartAt.Sub(workflow.Now(ctx)))
		fired := false
		var sig RescheduleSignal
		gotResched, gotCancel, gotUpdate := false, false, false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(f workflow.Future) { fired = f.Get(ctx, nil) == nil })
		sel.AddReceive(w.reschedCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &sig); gotResched = true })
		sel.AddReceive(w.cancelCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); gotCancel = true })
		sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil); gotUpdate = true })
		sel.Select(ctx)
		cancelTimer()
		switch {
		case gotCancel:
			return w.doCancel(ctx, nil)
		case gotResched:
			if !sig.StartAt.After(workflow.Now(ctx)) {
				log.Warn("reschedule ignored: start_at is not in the future", "start_at", sig.StartAt)
				continue
			}
			t := sig.StartAt.UTC()
			w.p.StartAt = &t
			if err := w.setStatus(ctx, campaign.StatusScheduled, "", nil); err != nil {
				return err
			}
		case gotUpdate:
			if cancelled, err := w.takeCancel(ctx); cancelled || err != nil {
				return err
			}
			if r := w.pending(UpdateReschedule); r != nil {
				t := r.in.StartAt.UTC()
				w.p.StartAt = &t
				err := w.setStatus(ctx, campaign.StatusScheduled, "", w.audit(r))
				w.answer(r, err)
				if err != nil {
					return err
				}
			}
		case fired:
			// loop: the check at the top starts activation
		}
	}
}

// activate runs the activation activity with its retry policy; when it
// still fails, records failed_activation, alerts, and waits for
// retry-activation or cancel.
func (w *campaignWF) activate(ctx workflow.Context) error {
	if w.p.Status == campaign.StatusFailedActivation {
		return w.waitForRetry(ctx)
	}
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 5 * time.Minute, // room for the policy's attempts
		RetryPolicy:            w.in.ActivationRetry,
	})
	var matched int
	f := workflow.ExecuteLocalActivity(summarizedLocal(actx, "activate (attempt round %d)", w.p.ActivationTries+1), ca.Activate, w.in.CampaignID)
	if cancelled, err := w.awaitOrCancel(ctx, f); cancelled || err != nil {
		return err
	}
	err := f.Get(ctx, &matched)
	w.p.ActivationTries++
	if err == nil {
		w.p.Matched = matched
		w.p.Status, w.p.EnrollmentStatus, w.p.LastError = campaign.StatusEnrolling, campaign.EnrollmentRunning, ""
		return workflow.UpsertTypedSearchAttributes(ctx, CampaignStatusKey.ValueSet(campaign.StatusEnrolling))
	}
	msg := rootMessage(err)
	if err := w.setStatus(ctx, campaign.StatusFailedActivation, msg, nil); err != nil {
		return err
	}
	if err := w.alert(ctx, "campaign.activation_failed", "error",
		"Campaign activation failed", "The campaign could not be activated: "+msg+". Fix the cause, then send retry-activation.",
		map[string]any{"attempts": w.p.ActivationTries}); err != nil {
		return err
	}
	return w.waitForRetry(ctx)
}

func (w *campaignWF) waitForRetry(ctx workflow.Context) error {
	for {
		retry, cancel, update := false, false, false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(w.retryCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); retry = true })
		sel.AddReceive(w.cancelCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); cancel = true })
		sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil); update = true })
		sel.Select(ctx)
		switch {
		case cancel:
			return w.doCancel(ctx, nil)
		case retry:
			return w.setStatus(ctx, campaign.StatusActivating, w.p.LastError, nil)
		case update:
			if cancelled, err := w.takeCancel(ctx); cancelled || err != nil {
				return err
			}
			if r := w.pending(UpdateRetryActivation); r != nil {
				err := w.setStatus(ctx, campaign.StatusActivating, w.p.LastError, w.audit(r))
				w.answer(r, err)
				return err
			}
		}
	}
}

// enroll runs enrollment chunks; it reports true when the workflow should
// continue as new to keep its history small.
func (w *campaignWF) enroll(ctx workflow.Context) (bool, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: w.in.ChunkBudget + 2*time.Minute,
		HeartbeatTimeout:    w.in.HeartbeatTimeout,
		RetryPolicy:         dbWorkRetry,
	})
	for chunks := 0; ; chunks++ {
		// A cancel that arrived meanwhile wins.
		if w.cancelCh.ReceiveAsync(nil) {
			return false, w.doCancel(ctx, nil)
		}
		w.drainIgnored(ctx)
		if chunks >= w.in.MaxChunksPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return true, nil
		}
		cctx, stop := workflow.WithCancel(summarized(actx, "enroll chunk %d: %d enrolled so far", w.p.Chunks+1, w.p.Enrolled))
		f := workflow.ExecuteActivity(cctx, ca.EnrollChunk, activities.EnrollInput{
			CampaignID: w.in.CampaignID, Cursors: w.p.Cursors, Streams: w.in.Streams, BatchSize: w.in.BatchSize, Budget: w.in.ChunkBudget,
		})
		cancelled, err := w.awaitOrCancel(ctx, f)
		if cancelled || err != nil {
			stop() // the chunk stops at its next heartbeat; its batches see the campaign cancelled
			return false, err
		}
		var res activities.EnrollResult
		if err := f.Get(ctx, &res); err != nil {
			return false, err
		}
		w.p.Chunks++
		w.p.Enrolled = res.Total
		w.p.Cursors = res.Cursors
		if res.Stopped {
			// Cancelled through the database (a cancel signal is on its way).
			return false, w.doCancel(ctx, nil)
		}
		if res.Done || res.Capped {
			return false, w.finalize(ctx)
		}
	}
}

// drainIgnored consumes signals that mean nothing once activation started.
func (w *campaignWF) drainIgnored(ctx workflow.Context) {
	for w.reschedCh.ReceiveAsync(nil) {
		workflow.GetLogger(ctx).Warn("reschedule ignored: campaign already activated")
	}
	for w.retryCh.ReceiveAsync(nil) {
	}
}

func (w *campaignWF) finalize(ctx workflow.Context) error {
	actx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: localRetryWindow,
		RetryPolicy:            dbWorkRetry,
	})
	var fin store.FinalizeResult
	if err := workflow.ExecuteLocalActivity(summarizedLocal(actx, "settle enrollment: %d enrolled", w.p.Enrolled), ca.Finalize, w.in.CampaignID).Get(ctx, &fin); err != nil {
		return err
	}
	w.p.Status, w.p.EnrollmentStatus, w.p.Enrolled = fin.Status, fin.EnrollmentStatus, fin.Enrolled
	if err := workflow.UpsertTypedSearchAttributes(ctx, CampaignStatusKey.ValueSet(fin.Status)); err != nil {
		return err
	}
	// The campaign is settled: a cancel that arrived during the last step is
	// refused now, with the state it found (never accepted and dropped).
	// (A v2 workflow goes on sending: an active campaign can be cancelled
	// then, by an Update that arrives after this.)
	w.refuseAll(fmt.Sprintf(" (enrollment finished with %d leads)", fin.Enrolled))
	// "writeback-beside-send" v1: the first step is not held back by the
	// Airtable write-back (at 5 requests/s, half an hour for 100,000
	// leads, with cancel and pause refused meanwhile): it runs in its own
	// coroutine beside the sending, which the workflow waits for before it
	// ends or continues as new.
	if fin.Status == campaign.StatusActive {
		if workflow.GetVersion(ctx, "writeback-beside-send", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			w.writeBack(ctx)
		} else {
			f, settle := workflow.NewFuture(ctx)
			w.writingBack = f
			workflow.Go(ctx, func(gctx workflow.Context) {
				w.writeBack(gctx)
				settle.Set(nil, nil)
			})
		}
	}
	if fin.EnrollmentStatus == campaign.EnrollmentPartialCapped {
		return w.alert(ctx, "campaign.partial_enrollment", "warning", "Campaign enrollment capped",
			fmt.Sprintf("max_leads stopped enrollment at %d; %d eligible leads were left out.", fin.Enrolled, fin.Remaining),
			map[string]any{"enrolled": fin.Enrolled, "remaining": fin.Remaining})
	}
	return nil
}

// writeBack writes the enrolled leads' campaign and sequence status to
// their Airtable records. A failure never undoes the enrollment: it is
// recorded on the campaign and the pending records are retried by the
// client's next write-back run (the next campaign's or the next sync's).
func (w *campaignWF) writeBack(ctx workflow.Context) {
	n, err := writeBackPending(ctx, w.in.ClientID)
	w.p.WrittenBack += n
	if err != nil {
		w.p.WriteBackError = rootMessage(err)
		_ = workflow.ExecuteLocalActivity(localCtx(ctx), sa.RecordWriteBackError, w.in.CampaignID, w.p.WriteBackError).Get(ctx, nil)
	}
}

// awaitWriteBack waits for the write-back running beside the sending.
func (w *campaignWF) awaitWriteBack(ctx workflow.Context) {
	if w.writingBack != nil {
		_ = w.writingBack.Get(ctx, nil)
		w.writingBack = nil
	}
}

// writeBackPending writes every pending enrollment of the client to
// Airtable, one budgeted activity after another, and says how many it wrote.
func writeBackPending(ctx workflow.Context, clientID string) (int, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute, HeartbeatTimeout: 45 * time.Second,
		RetryPolicy: airtableRetry(5),
	})
	written := 0
	for i := 0; i < 10000; i++ {
		var res activities.WriteBackResult
		if err := workflow.ExecuteActivity(summarized(actx, "write back to Airtable: %d written so far", written), sa.WriteBack, activities.WriteBackInput{ClientID: clientID, Budget: 20 * time.Second}).Get(ctx, &res); err != nil {
			return written, err
		}
		written += res.Written
		if res.Done {
			break
		}
	}
	return written, nil
}

func (w *campaignWF) alert(ctx workflow.Context, kind, severity, subject, msg string, details map[string]any) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         alertRetry,
	})
	info := workflow.GetInfo(ctx)
	a := activities.Alert{
		ID:       fmt.Sprintf("%s/%s/%d", info.WorkflowExecution.ID, kind, w.p.ActivationTries),
		ClientID: w.in.ClientID, Kind: kind, Severity: severity, Subject: subject, Message: msg,
		CampaignID: w.in.CampaignID, Details: details, At: workflow.Now(ctx),
	}
	if err := workflow.ExecuteActivity(summarized(actx, "alert: %s", kind), al.SendAlert, a).Get(ctx, nil); err != nil {
		// An undeliverable alert must not wedge the campaign; it stays in history and the log.
		workflow.GetLogger(ctx).Error("alert delivery failed", "kind", kind, "error", err)
	}
	return nil
}

// rootMessage is the innermost error text (the activity's own message).
func rootMessage(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// send is the sending phase (v2): SendDue rounds, each sending what is due
// for its budget, with a durable timer to the next due step in between;
// pause holds it, resume goes on exactly where it stopped (the ledger, not
// a cursor, says what was sent), cancel ends it. It ends the campaign
// completed when every enrollment has left the sequence, and reports true
// when the workflow should continue as new.
func (w *campaignWF) send(ctx workflow.Context) (bool, error) {
	w.sending = true
	sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: w.in.SendBudget + 2*time.Minute,
		HeartbeatTimeout:    w.in.SendHeartbeat,
		RetryPolicy:         dbWorkRetry,
	})
	for rounds := 0; ; rounds++ {
		if w.p.Status == campaign.StatusPaused {
			done, err := w.waitWhilePaused(ctx)
			if done || err != nil {
				return false, err
			}
		}
		if rounds >= w.in.MaxSendRounds || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return true, nil
		}
		f := workflow.ExecuteActivity(summarized(sctx, "send due steps: %d sent so far", w.p.Sent), sd.SendDue,
			activities.SendInput{CampaignID: w.in.CampaignID, Budget: w.in.SendBudget})
		// A pause or cancel is committed at once (the round's next batch
		// finds the campaign inactive and stops); its answer waits for the
		// round to end, so nothing more reaches the provider after it.
		var held []*steerReq
		for !f.IsReady() {
			sel := workflow.NewSelector(ctx)
			sel.AddFuture(f, func(workflow.Future) {})
			sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
			sel.Select(ctx)
			w.refuseStale()
			if r := w.pending(UpdateCancel); r != nil {
				if err := w.commitCancel(ctx, r); err != nil {
					return false, err
				}
				held = append(held, r)
			} else if r := w.pending(UpdatePause); r != nil {
				if err := w.setStatus(ctx, campaign.StatusPaused, "", w.audit(r)); err != nil {
					w.answer(r, err)
					return false, err
				}
				held = append(held, r)
			}
		}
		var res activities.SendResult
		err := f.Get(ctx, &res)
		for _, r := range held {
			w.answer(r, nil)
		}
		w.p.SendRounds++
		w.p.Sent += res.Sent
		w.p.Failed += res.Failed
		w.p.Skipped += res.Skipped
		w.p.Unknown += res.Unknown
		if err != nil {
			return false, err
		}
		if res.Unknown > 0 {
			_ = w.alert(ctx, "campaign.sends_unknown", "error", "Messages in an unknown state",
				fmt.Sprintf("%d messages could not be settled with the provider (their answer was lost and the provider could not be asked); they are not sent again and are counted as unknown.", res.Unknown),
				map[string]any{"unknown": res.Unknown})
		}
		switch {
		case w.p.Status == campaign.StatusCancelled:
			return false, nil
		case w.p.Status == campaign.StatusPaused:
			continue
		case res.Active == 0 && !res.Stopped:
			err := w.setStatus(ctx, campaign.StatusCompleted, "", nil)
			w.refuseAll("")
			return false, err
		case res.NextDue > 0:
			// Until the next step falls due (the activity read the time
			// off the database), or an Update.
			done, err := w.sleepUntilDue(ctx, res.NextDue)
			if done || err != nil {
				return false, err
			}
		}
	}
}

// commitCancel cancels the campaign (enrollments cancelled, its audit row)
// without answering the Update yet.
func (w *campaignWF) commitCancel(ctx workflow.Context, r *steerReq) error {
	w.cancelled = true
	w.p.Status = campaign.StatusCancelled
	w.refuseStale()
	in := activities.CancelInput{CampaignID: w.in.CampaignID, Audit: w.audit(r)}
	if err := workflow.ExecuteLocalActivity(summarizedLocal(localCtx(ctx), "cancel the campaign, free its leads"), ca.Cancel, in).Get(ctx, nil); err != nil {
		w.answer(r, err)
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx, CampaignStatusKey.ValueSet(campaign.StatusCancelled))
}

// waitWhilePaused waits for resume (answered once the campaign is active
// again) or cancel. done: the campaign was cancelled.
//
// "resume-held" v1: a resume that arrived while the round that paused was
// still running (its wake-up was taken by that round) is carried out at
// once; v0 waited for yet another Update and so never answered it.
func (w *campaignWF) waitWhilePaused(ctx workflow.Context) (bool, error) {
	look := workflow.GetVersion(ctx, "resume-held", workflow.DefaultVersion, 1) == 1
	for w.p.Status == campaign.StatusPaused {
		if !look {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
			sel.Select(ctx)
		}
		look = false
		if cancelled, err := w.takeCancel(ctx); cancelled || err != nil {
			return true, err
		}
		if r := w.pending(UpdateResume); r != nil {
			err := w.setStatus(ctx, campaign.StatusActive, "", w.audit(r))
			w.answer(r, err)
			if err != nil {
				return false, err
			}
		}
		w.refuseStale()
	}
	return false, nil
}

// sleepUntilDue waits d on a durable timer; a pause or cancel arriving
// meanwhile is carried out at once. done: the campaign was cancelled.
func (w *campaignWF) sleepUntilDue(ctx workflow.Context, d time.Duration) (bool, error) {
	tctx, stop := workflow.WithCancel(ctx)
	defer stop()
	timer := workflow.NewTimer(tctx, d)
	for !timer.IsReady() {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
		sel.Select(ctx)
		w.refuseStale()
		if cancelled, err := w.takeCancel(ctx); cancelled || err != nil {
			return true, err
		}
		if r := w.pending(UpdatePause); r != nil {
			err := w.setStatus(ctx, campaign.StatusPaused, "", w.audit(r))
			w.answer(r, err)
			return false, err
		}
	}
	return false, nil
}
