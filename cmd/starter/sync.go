package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/config"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
	"github.com/nurture-sms/nurture/internal/temporalx"
	"github.com/nurture-sms/nurture/workflows"
)

func dialTemporal() (client.Client, config.Config, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, cfg, err
	}
	opts, err := temporalx.Options(zap.NewNop())
	if err != nil {
		return nil, cfg, err
	}
	syncstart.Default = syncstart.Policy{DecisionWindow: cfg.SyncDecisionWindow, AlertShare: cfg.SyncDeletionAlertShare}
	tc, err := temporalx.Dial(opts)
	return tc, cfg, err
}

func syncCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sync", Short: "Airtable syncs: start and watch (progress bar), approve or reject staged deletions, schedule"}
	var clientID, syncID string
	var every time.Duration
	var now, wait bool

	start := &cobra.Command{
		Use: "start", Short: "Start a client's sync and watch it",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			id, err := uuid.Parse(clientID)
			if err != nil {
				return fmt.Errorf("--client-id must be a UUID")
			}
			pool, err := openDB(ctx, false)
			if err != nil {
				return err
			}
			defer pool.Close()
			tc, cfg, err := dialTemporal()
			if err != nil {
				return err
			}
			defer tc.Close()
			st := store.New(pool)
			run, err := syncstart.Start(ctx, st, tc, cfg.TaskQueue, id, "cli", "")
			var running *syncstart.RunningError
			if errors.As(err, &running) {
				fmt.Printf("a sync is already running: %s (watching it)\n", running.SyncID)
				run.ID = running.SyncID
			} else if err != nil {
				return err
			} else {
				fmt.Printf("sync %s started (workflow %s)\n", run.ID, run.WorkflowID)
			}
			if !wait {
				return nil
			}
			return watch(ctx, st, run.ID, false)
		},
	}
	start.Flags().StringVar(&clientID, "client-id", "", "client UUID (required)")
	start.Flags().BoolVar(&wait, "wait", true, "watch the sync with a progress bar until it needs a decision or ends")

	decide := func(use, update string) *cobra.Command {
		c := &cobra.Command{
			Use: use, Short: use + " the staged deletions of a sync",
			RunE: func(cmd *cobra.Command, _ []string) error {
				ctx := cmd.Context()
				id, err := uuid.Parse(syncID)
				if err != nil {
					return fmt.Errorf("--sync-id must be a UUID")
				}
				pool, err := openDB(ctx, false)
				if err != nil {
					return err
				}
				defer pool.Close()
				st := store.New(pool)
				tc, _, err := dialTemporal()
				if err != nil {
					return err
				}
				defer tc.Close()
				_, res, err := syncstart.Decide(ctx, st, tc, nil, id, update, "cli", "")
				if err != nil {
					return fmt.Errorf("sync %s: %w", id, err)
				}
				fmt.Printf("sync %s: the review took the decision: %s (%d staged)\n", id, res.Decision, res.Staged)
				return watch(ctx, st, id, true)
			},
		}
		c.Flags().StringVar(&syncID, "sync-id", "", "sync UUID (required)")
		return c
	}

	schedule := &cobra.Command{
		Use: "schedule", Short: "Create or replace the client's Temporal Schedule (sync every --every)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := uuid.Parse(clientID); err != nil {
				return fmt.Errorf("--client-id must be a UUID")
			}
			tc, cfg, err := dialTemporal()
			if err != nil {
				return err
			}
			defer tc.Close()
			if every == 0 {
				if err := syncstart.Unschedule(cmd.Context(), tc, clientID); err != nil {
					return err
				}
				fmt.Println("schedule removed")
				return nil
			}
			if err := syncstart.Schedule(cmd.Context(), tc, cfg.TaskQueue, clientID, every, now); err != nil {
				return err
			}
			fmt.Printf("schedule %s: every %s\n", workflows.SyncScheduleID(clientID), every)
			return nil
		},
	}
	schedule.Flags().StringVar(&clientID, "client-id", "", "client UUID (required)")
	schedule.Flags().DurationVar(&every, "every", time.Hour, "interval (0 removes the schedule)")
	schedule.Flags().BoolVar(&now, "now", false, "also trigger one sync right away")

	cmd.AddCommand(start, decide("approve", workflows.UpdateApproveDeletions), decide("reject", workflows.UpdateRejectDeletions), schedule, webhookCmd())
	return cmd
}

// webhookCmd: `starter sync webhook register --client-id X` registers (or
// refreshes, or re-creates) the client's Airtable webhook for the
// incremental sync and its daily refresh Schedule.
func webhookCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "The client's Airtable webhook (incremental sync)"}
	var clientID string
	register := &cobra.Command{
		Use: "register", Short: "Register, refresh or re-create the client's Airtable webhook, and schedule its hourly check",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := uuid.Parse(clientID); err != nil {
				return fmt.Errorf("--client-id must be a UUID")
			}
			tc, cfg, err := dialTemporal()
			if err != nil {
				return err
			}
			defer tc.Close()
			res, err := syncstart.RegisterWebhook(cmd.Context(), tc, cfg.TaskQueue, clientID)
			if err != nil {
				return err
			}
			switch {
			case res.Created:
				fmt.Printf("webhook %s created (%s), expires %s; full listing %s covers the time before it\n", res.WebhookID, res.Reason,
					res.ExpiresAt.Format(time.RFC3339), res.SyncID)
			default:
				fmt.Printf("webhook %s refreshed, expires %s\n", res.WebhookID, res.ExpiresAt.Format(time.RFC3339))
			}
			fmt.Printf("refresh schedule %s: every %s\n", workflows.WebhookScheduleID(clientID), syncstart.WebhookRefreshEvery)
			return nil
		},
	}
	register.Flags().StringVar(&clientID, "client-id", "", "client UUID (required)")
	cmd.AddCommand(register)
	return cmd
}

// watch shows a progress bar over the sync's phases until it waits for a
// decision or ends.
func watch(ctx context.Context, st *store.Store, id uuid.UUID, decided bool) error {
	bar := progressbar.NewOptions(-1, progressbar.OptionSetDescription("listing"), progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(), progressbar.OptionSpinnerType(14), progressbar.OptionSetItsString("records"))
	var deleting *progressbar.ProgressBar
	for {
		run, err := st.GetSyncRun(ctx, nil, id)
		if err != nil {
			return err
		}
		switch run.Phase {
		case store.SyncListing:
			var seen int
			_ = st.Pool.QueryRow(ctx, `SELECT count(*) FROM leads WHERE last_seen_sync_id = $1`, id).Scan(&seen)
			_ = bar.Set(seen)
		case store.SyncAwaitingDecision:
			if !decided {
				_ = bar.Finish()
				fmt.Fprintln(os.Stderr)
				fmt.Printf("sync %s: %d leads staged for deletion (%d listed)\ndecide with: starter sync approve --sync-id %s   (or reject)\n",
					id, run.Staged, run.Listed, id)
				return nil
			}
		case store.SyncDeleting, store.SyncRestoring:
			if deleting == nil {
				_ = bar.Finish()
				deleting = progressbar.NewOptions(run.Staged, progressbar.OptionSetDescription(run.Phase), progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionShowCount())
			}
			_ = deleting.Set(run.Deleted + run.Restored)
		default:
			_ = bar.Finish()
			if deleting != nil {
				_ = deleting.Finish()
			}
			fmt.Fprintln(os.Stderr)
			fmt.Printf("sync %s: %s; listed %d (created %d, updated %d, unchanged %d, invalid %d); staged %d, deleted %d, restored %d %s\n",
				id, run.Phase, run.Listed, run.Created, run.Updated, run.Unchanged, run.Invalid, run.Staged, run.Deleted, run.Restored, run.Error)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
