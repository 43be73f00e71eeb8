// Package campaign holds the campaign domain: the audience filter, the
// message sequence, statuses, and the validation of a create request.
package campaign

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nurture-sms/nurture/internal/lead"
	"github.com/nurture-sms/nurture/internal/text"
)

// Campaign statuses (campaigns.status).
const (
	StatusScheduled        = "scheduled"
	StatusActivating       = "activating"
	StatusFailedActivation = "failed_activation"
	StatusEnrolling        = "enrolling"
	StatusActive           = "active"
	StatusNoEligibleLeads  = "no_eligible_leads"
	StatusCancelled        = "cancelled"
	StatusOrphaned         = "orphaned"
	// Sending the sequence (v2 workflows): active sends, paused holds,
	// completed when every enrollment left the sequence.
	StatusPaused    = "paused"
	StatusCompleted = "completed"
)

// Enrollment statuses (campaigns.enrollment_status).
const (
	EnrollmentNotStarted    = "not_started"
	EnrollmentRunning       = "running"
	EnrollmentComplete      = "complete"
	EnrollmentPartialCapped = "partial_capped"
	EnrollmentNone          = "none"
)

// Audience selects a client's leads. Every set criterion must hold; tags
// match when the lead has any of them.
type Audience struct {
	TargetTags       []string   `json:"target_tags,omitempty"`
	ICPMin           *int       `json:"icp_min,omitempty"`
	ICPMax           *int       `json:"icp_max,omitempty"`
	CreatedAfter     *time.Time `json:"created_after,omitempty"`
	CreatedBefore    *time.Time `json:"created_before,omitempty"`
	EngagementLevels []string   `json:"engagement_levels,omitempty"`
}

// Step is one SMS of the sequence, sent Delay after the previous one.
type Step struct {
	Body         string `json:"body"`
	DelayMinutes int    `json:"delay_minutes"`
}

// Limits of a campaign definition.
const (
	MaxNameLen      = 100
	MaxSteps        = 10
	MaxBodyLen      = 1600
	MaxDelayMinutes = 30 * 24 * 60
	MaxTags         = 50
	MaxTagLen       = 100
	// MaxLeadsCap bounds max_leads: campaigns.max_leads is an integer (int4).
	MaxLeadsCap = 1<<31 - 1
)

// FieldError names the offending field of an invalid definition.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func bad(field, format string, a ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, a...)}
}

// Normalize validates the audience and normalizes it in place: tags are
// trimmed, lower-cased and deduplicated case-insensitively, engagement
// levels deduplicated.
func (a *Audience) Normalize() error {
	if len(a.TargetTags) > MaxTags {
		return bad("target_tags", "at most %d tags", MaxTags)
	}
	seen := map[string]bool{}
	tags := make([]string, 0, len(a.TargetTags))
	for _, t := range a.TargetTags {
		t, err := text.Name(t, MaxTagLen)
		if err != nil {
			return bad("target_tags", "each tag %s", err)
		}
		t = strings.ToLower(t)
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	a.TargetTags = tags
	for _, p := range []struct {
		name string
		v    *int
	}{{"icp_min", a.ICPMin}, {"icp_max", a.ICPMax}} {
		if p.v != nil && (*p.v < 0 || *p.v > 100) {
			return bad(p.name, "%s must be within 0..100", p.name)
		}
	}
	if a.ICPMin != nil && a.ICPMax != nil && *a.ICPMin > *a.ICPMax {
		return bad("icp_min", "icp_min must be <= icp_max")
	}
	if a.CreatedAfter != nil && a.CreatedBefore != nil && a.CreatedAfter.After(*a.CreatedBefore) {
		return bad("created_after", "created_after must be <= created_before")
	}
	levels := make([]string, 0, len(a.EngagementLevels))
	seenL := map[string]bool{}
	for _, l := range a.EngagementLevels {
		l = strings.ToLower(strings.TrimSpace(l))
		if !lead.ValidEngagement(l) {
			return bad("engagement_levels", "engagement_levels must be from: %s", lead.EngagementList())
		}
		if !seenL[l] {
			seenL[l] = true
			levels = append(levels, l)
		}
	}
	a.EngagementLevels = levels
	if len(a.TargetTags) == 0 && a.ICPMin == nil && a.ICPMax == nil && a.CreatedAfter == nil &&
		a.CreatedBefore == nil && len(a.EngagementLevels) == 0 {
		return bad("audience", "at least one audience criterion is required (target_tags, icp_min, icp_max, created_after, created_before or engagement_levels)")
	}
	return nil
}

// ValidateName checks a campaign name (the rule of internal/text) and
// returns it trimmed.
func ValidateName(name string) (string, error) {
	name, err := text.Name(name, MaxNameLen)
	if err != nil {
		return name, bad("name", "name %s", err)
	}
	return name, nil
}

// ValidateSteps checks the message sequence.
func ValidateSteps(steps []Step) error {
	if len(steps) < 1 || len(steps) > MaxSteps {
		return bad("messages", "messages must hold 1..%d steps", MaxSteps)
	}
	for i, s := range steps {
		field := fmt.Sprintf("messages[%d].body", i)
		if n := utf8.RuneCountInString(s.Body); n < 1 || n > MaxBodyLen || strings.TrimSpace(s.Body) == "" {
			return bad(field, "%s must be 1..%d characters", field, MaxBodyLen)
		}
		if s.DelayMinutes < 0 || s.DelayMinutes > MaxDelayMinutes {
			f := fmt.Sprintf("messages[%d].delay_minutes", i)
			return bad(f, "%s must be within 0..%d (30 days)", f, MaxDelayMinutes)
		}
	}
	return nil
}

// ValidateStartAt accepts nil (start now) or a time after now.
func ValidateStartAt(t *time.Time, now time.Time) error {
	if t != nil && !t.After(now) {
		return bad("start_at", "start_at must be in the future")
	}
	return nil
}
