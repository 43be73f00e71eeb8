package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nurture-sms/nurture/activities"
	"github.com/nurture-sms/nurture/internal/store"
)

// Two-way task sync (issue 12, HIGH-6): one TaskSync workflow per client
// (`task-sync/{client_id}`), started by signal-with-start when a task is
// edited (or by the schedule's trigger, or a force sync). Each cycle waits
// out the conflict window on a durable timer, then pulls the client's
// Airtable Tasks table (applying Airtable's edits, field by field) and
// pushes the local edits (10 records a request). It ends after
// taskSyncIdleCycles quiet cycles and continues as new every
// taskSyncCyclesPerRun cycles. Force sync is an Update whose result is the
// verdict of a cycle that began after it arrived.
const (
	// SignalTaskEdited: a task of the client was created or edited locally.
	SignalTaskEdited = "task-edited"
	// SignalTaskPull: pull (and push) now, without waiting for the window.
	SignalTaskPull = "pull"
	// UpdateForceTaskSync runs a cycle now and answers its verdict.
	UpdateForceTaskSync = "force-sync"

	// DefaultTaskSyncWindow is the conflict window (HIGH-6: was 5 minutes).
	DefaultTaskSyncWindow = 60 * time.Second
	taskSyncIdleCycles    = 10
	taskSyncCyclesPerRun  = 100
)

// TaskSyncWorkflowID is the client's one task sync workflow.
func TaskSyncWorkflowID(clientID string) string { return "task-sync/" + clientID }

// TaskSyncInput starts (or continues) a client's task sync.
type TaskSyncInput struct {
	ClientID string
	// Window is how long an edit may wait before it is pushed (0: 60 s).
	Window time.Duration
	// Dirty: an edit arrived that the previous run had not pushed.
	Dirty      bool `json:",omitempty"`
	IdleCycles int  `json:",omitempty"`
}

// ForceTaskSyncRequest is the argument of force-sync.
type ForceTaskSyncRequest struct {
	Actor     string `json:"actor,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// TaskSyncVerdict is the outcome of a cycle: whether both sides agree and,
// if not, what is pending and why.
type TaskSyncVerdict struct {
	InSync        bool                `json:"in_sync"`
	PendingCount  int                 `json:"pending_count"`
	Pending       []store.TaskBacklog `json:"pending"`
	ConflictCount int                 `json:"conflict_count"`
	// Reasons a cycle could not finish: the pull's or the push's error.
	PullError string `json:"pull_error,omitempty"`
	PushError string `json:"push_error,omitempty"`
	Pulled    int    `json:"pulled"` // tasks created or changed from Airtable
	Pushed    int    `json:"pushed"` // records created or updated in Airtable
}

// TaskSync is the client's task sync loop.
func TaskSync(ctx workflow.Context, in TaskSyncInput) error {
	window := in.Window
	if window <= 0 {
		window = DefaultTaskSyncWindow
	}
	dirty, idle := in.Dirty, in.IdleCycles
	pullNow := false
	forceAsked, forceDone := 0, 0
	var verdict TaskSyncVerdict

	edited := workflow.GetSignalChannel(ctx, SignalTaskEdited)
	pull := workflow.GetSignalChannel(ctx, SignalTaskPull)
	workflow.Go(ctx, func(ctx workflow.Context) {
		s := workflow.NewSelector(ctx)
		s.AddReceive(edited, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); dirty = true })
		s.AddReceive(pull, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); pullNow = true })
		for {
			s.Select(ctx)
		}
	})
	if err := workflow.SetUpdateHandler(ctx, UpdateForceTaskSync, func(ctx workflow.Context, _ ForceTaskSyncRequest) (TaskSyncVerdict, error) {
		forceAsked++
		mine := forceAsked
		if err := workflow.Await(ctx, func() bool { return forceDone >= mine }); err != nil {
			return TaskSyncVerdict{}, err
		}
		return verdict, nil
	}); err != nil {
		return err
	}

	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute, HeartbeatTimeout: 45 * time.Second, RetryPolicy: taskAirtableRetry,
	})
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 10 * time.Minute, RetryPolicy: taskStatusRetry,
	})
	pushCtx := workflow.WithRetryPolicy(actx, temporal.RetryPolicy{MaximumAttempts: 1})
	var sa *activities.Sync
	for cycle := 0; ; cycle++ {
		// The conflict window: a durable timer; a force sync or a pull
		// request cuts it short. An edit made during the wait is pushed
		// when it ends, so at most one window after the edit.
		if forceAsked == forceDone && !pullNow {
			if _, err := workflow.AwaitWithTimeout(ctx, window, func() bool { return forceAsked > forceDone || pullNow }); err != nil {
				return err
			}
		}
		cycleForce, wasDirty, wasPull := forceAsked, dirty, pullNow
		forced := cycleForce > forceDone
		dirty, pullNow = false, false

		// Pull first, then push: the push writes the merged values, so an
		// Airtable edit made before this cycle is never overwritten unseen.
		v := TaskSyncVerdict{}
		var pulled activities.TaskApplyResult
		if err := workflow.ExecuteActivity(summarized(actx, "pull the Tasks table"), sa.PullTasks, activities.TaskPullInput{ClientID: in.ClientID}).
			Get(ctx, &pulled); err != nil {
			v.PullError = rootMessage(err)
		} else if pulled.Error != "" {
			v.PullError = pulled.Error
		}
		v.Pulled = pulled.Created + pulled.Updated + pulled.Conflicts
		var pushed activities.TaskPushResult
		// One attempt per cycle: a create that reached Airtable before the
		// attempt failed is linked by the next cycle's pull (by its Nurture
		// ID) before anything is pushed again, never created twice.
		if err := workflow.ExecuteActivity(summarized(pushCtx, "push pending tasks"), sa.PushTasks, activities.TaskPushInput{ClientID: in.ClientID}).
			Get(ctx, &pushed); err != nil {
			v.PushError = rootMessage(err)
			dirty = true // retried next cycle
		} else {
			v.PushError = pushed.Error
			if !pushed.Done && pushed.Error == "" {
				dirty = true // the budget ran out: the rest next cycle
			}
		}
		v.Pushed = pushed.Created + pushed.Updated
		var st store.TaskSyncStatus
		if err := workflow.ExecuteLocalActivity(lctx, sa.TaskSyncStatus, in.ClientID).Get(ctx, &st); err != nil {
			return err
		}
		v.PendingCount, v.Pending, v.ConflictCount = st.PendingN, st.Pending, st.Conflicts
		v.InSync = st.PendingN == 0 && v.PullError == "" && v.PushError == ""
		verdict = v
		forceDone = cycleForce

		if wasDirty || wasPull || forced || v.Pulled > 0 || v.Pushed > 0 {
			idle = 0
		} else {
			idle++
		}
		// A pending force sync or pull runs first; an unpushed edit (dirty)
		// does not hold the run open: it rides along in the input, so a
		// push that keeps failing cannot grow one history without end.
		if forceAsked != forceDone || pullNow {
			continue
		}
		if idle >= taskSyncIdleCycles || cycle+1 >= taskSyncCyclesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return err
			}
			if forceAsked != forceDone || pullNow {
				continue
			}
			if idle >= taskSyncIdleCycles && !dirty {
				return nil // quiet: the next edit (or the schedule) starts it again
			}
			return workflow.NewContinueAsNewError(ctx, TaskSync, TaskSyncInput{ClientID: in.ClientID, Window: in.Window, Dirty: dirty, IdleCycles: idle})
		}
	}
}
