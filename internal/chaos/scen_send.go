package chaos

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/smsemu"
	"github.com/nurture-sms/nurture/internal/testenv"
)

// sigkillSend: a two-step campaign (both steps due at once) over n leads
// in a zone where it is daytime, sent at a configured rate so the sending
// takes a while; the worker is SIGKILLed (and started again) `kills` times
// while messages go out. Afterwards the provider (the stack's emulator)
// holds each (lead, step) at most once, every (lead, step) is in the
// ledger as sent or, when the crash left it undecidable, unknown (never
// retried blindly), and the campaign is completed.
func sigkillSend(ctx context.Context, s *Stack, sz Sizes, f *Facts) error {
	n, kills := sz.SendLeads, sz.SendSIGKILLs
	w, err := s.StartWorker(ctx, "SMS_RATE_PER_NUMBER="+strconv.Itoa(sz.SendRate))
	if err != nil {
		return err
	}
	a, err := s.StartAPI(ctx)
	if err != nil {
		return err
	}
	tn, err := s.NewTenant(ctx, "send", "")
	if err != nil {
		return err
	}
	if err := s.seedLeads(ctx, tn.ID, n); err != nil {
		return err
	}
	zone, err := testenv.DayZone(time.Now())
	if err != nil {
		return err
	}
	f.Set("zone", zone)
	if _, err := s.DB.Pool.Exec(ctx, `UPDATE clients SET timezone = $2, max_per_day = 10 WHERE id = $1`, tn.ID, zone); err != nil {
		return err
	}
	if _, err := s.DB.Pool.Exec(ctx, `UPDATE leads SET timezone = $2 WHERE client_id = $1`, tn.ID, zone); err != nil {
		return err
	}
	camp, err := createCampaign(ctx, a, tn.Token, map[string]any{"target_tags": []string{eligibleTag},
		"messages": []map[string]any{{"body": "one {{first_name}}", "delay_minutes": 0}, {"body": "two {{first_name}}", "delay_minutes": 0}}})
	if err != nil {
		return err
	}
	total := 2 * n
	var at []int
	for k := 1; k <= kills; k++ {
		threshold := k * total / (kills + 1)
		for s.SMS.Count().Outbound < threshold {
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for %d messages (have %d): %w", threshold, s.SMS.Count().Outbound, ctx.Err())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := w.Kill(); err != nil {
			return err
		}
		c := s.SMS.Count().Outbound
		at = append(at, c)
		s.env.logf("%s: SIGKILL %d at %d messages", s.Name, k, c)
		if !f.Check(c < total, "SIGKILL %d came after the last message (%d of %d): it tested nothing", k, c, total) {
			return nil
		}
		if err := s.RestartWorker(ctx, w); err != nil {
			return fmt.Errorf("restart after SIGKILL %d: %w", k, err)
		}
	}
	lastKill := time.Now()
	f.Set("sigkills", kills)
	f.Set("messages_at_sigkills", at)
	v, err := waitCampaign(ctx, a, tn.Token, camp.ID, 10*time.Minute, campaign.StatusCompleted, campaign.StatusFailedActivation, campaign.StatusCancelled)
	f.Set("finished_after_last_sigkill", time.Since(lastKill))
	if err != nil {
		return err
	}
	per := map[string]int{}
	for _, m := range s.SMS.Messages(smsemu.Filter{Direction: "outbound-api"}) {
		per[m.To+"|"+m.Body]++
	}
	dups := 0
	for _, c := range per {
		if c > 1 {
			dups += c - 1
		}
	}
	var sent, unknown, other int
	if err := s.DB.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered')), count(*) FILTER (WHERE status = 'unknown'),
		count(*) FILTER (WHERE status NOT IN ('sent', 'delivered', 'unknown')) FROM sms_sends WHERE campaign_id = $1`, camp.ID).Scan(&sent, &unknown, &other); err != nil {
		return err
	}
	f.Set("expected", total)
	f.Set("at_provider", len(per))
	f.Set("duplicates", dups)
	f.Set("sent", sent)
	f.Set("unknown", unknown)
	f.Set("other", other)
	f.Set("status", v.Status)
	f.Check(dups == 0, "%d messages reached the provider twice", dups)
	f.Check(sent+unknown == total && other == 0, "ledger: %d sent, %d unknown, %d other, want %d (lead, step) in all", sent, unknown, other, total)
	f.Check(len(per) >= sent && len(per) <= sent+unknown, "the provider holds %d distinct messages, the ledger %d sent and %d unknown", len(per), sent, unknown)
	f.Check(v.Status == campaign.StatusCompleted, "campaign ended %s (last_error %q)", v.Status, v.LastError)
	return nil
}
