package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/store"
)

// decisionBox holds the admin's decision on a sync's staged deletions and
// takes it from the approve/reject Updates (and, in v0 workflows, from the
// signals of the same names).
type decisionBox struct {
	in      SyncInput
	st      *SyncStatus
	decider DecisionSignal
	// recorded: the decision's audit row is written (a v0 signal's was
	// written by the API, so it counts as recorded at once).
	recorded bool
}

func newDecisionBox(ctx workflow.Context, in SyncInput, st *SyncStatus) (*decisionBox, error) {
	b := &decisionBox{in: in, st: st}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: localRetryWindow,
		// A database outage must not lose a decision the admin was told
		// was taken: retried until the audit row is written.
		RetryPolicy: dbStepRetry,
	})
	for _, d := range [][2]string{{UpdateApproveDeletions, "approved"}, {UpdateRejectDeletions, "rejected"}} {
		name, decision := d[0], d[1]
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, req DecisionRequest) (DecisionResult, error) {
				// Taken synchronously, before anything yields: a racing
				// decision's validator already sees it.
				b.st.Decision = decision
				b.decider = DecisionSignal{Actor: req.Actor, SyncID: b.in.SyncID}
				if b.decider.Actor == "" {
					b.decider.Actor = "temporal:operator"
				}
				err := workflow.ExecuteLocalActivity(lctx, sa.RecordDecision, activities.DecisionInput{
					SyncID: b.in.SyncID, ClientID: b.in.ClientID, Decision: decision, Actor: b.decider.Actor,
					RequestID: req.RequestID, Staged: b.st.Staged,
				}).Get(ctx, nil)
				b.recorded = true
				return DecisionResult{SyncID: b.in.SyncID, Decision: decision, Staged: b.st.Staged}, err
			},
			workflow.UpdateHandlerOptions{Validator: func(req DecisionRequest) error { return b.validate(req) }})
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// validate refuses, with the reason, a decision the sync cannot take now.
func (b *decisionBox) validate(req DecisionRequest) error {
	switch {
	case req.SyncID != "" && req.SyncID != b.in.SyncID:
		return temporal.NewApplicationError("this workflow decides sync "+b.in.SyncID+", not "+req.SyncID, ErrTypeRefused)
	case b.st.Decision == "expired":
		return temporal.NewApplicationError("the decision window ended; the staged leads were restored", ErrTypeRefused)
	case b.st.Decision != "":
		return temporal.NewApplicationError("the staged deletions were already "+b.st.Decision+" by "+b.decider.Actor, ErrTypeRefused)
	case b.st.Phase != store.SyncAwaitingDecision:
		return temporal.NewApplicationError("sync is "+b.st.Phase+"; there is no decision to make", ErrTypeRefused)
	}
	return nil
}

// listenLegacySignals takes decisions from the v0 signals, as v0 did: only
// while awaiting one, only for this sync.
func (b *decisionBox) listenLegacySignals(ctx workflow.Context) {
	approveCh := workflow.GetSignalChannel(ctx, SignalApproveDeletions)
	rejectCh := workflow.GetSignalChannel(ctx, SignalRejectDeletions)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var sig DecisionSignal
			decision := ""
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(approveCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &sig); decision = "approved" })
			sel.AddReceive(rejectCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &sig); decision = "rejected" })
			sel.Select(ctx)
			switch {
			case sig.SyncID != "" && sig.SyncID != b.in.SyncID:
				workflow.GetLogger(ctx).Warn("decision for another sync ignored", "decision", decision, "for_sync", sig.SyncID, "sync", b.in.SyncID)
			case b.st.Phase != store.SyncAwaitingDecision || b.st.Decision != "":
				workflow.GetLogger(ctx).Warn("decision ignored: not awaiting one", "decision", decision, "phase", b.st.Phase, "decided", b.st.Decision)
			default:
				b.st.Decision, b.decider, b.recorded = decision, sig, true
			}
		}
	})
}
