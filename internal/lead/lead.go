// Package lead owns the vocabulary of a lead: the statuses (leads.status)
// and engagement levels (leads.engagement_level) that the sync writes, the
// API filters on and the enrollment reads. Nothing else lists them.
package lead

import (
	"slices"
	"strings"
)

// Lead statuses.
const (
	StatusNew         = "new"
	StatusContacted   = "contacted"
	StatusEngaged     = "engaged"
	StatusBooked      = "booked"
	StatusUnqualified = "unqualified"
	StatusClosed      = "closed"
)

// Engagement levels; EngagementUnknown is what a lead without one gets.
const (
	EngagementUnknown = "unknown"
	EngagementLow     = "low"
	EngagementMedium  = "medium"
	EngagementHigh    = "high"
)

var (
	// Statuses are every status a lead may have, in pipeline order.
	Statuses = []string{StatusNew, StatusContacted, StatusEngaged, StatusBooked, StatusUnqualified, StatusClosed}
	// EngagementLevels are every engagement level, lowest knowledge first.
	EngagementLevels = []string{EngagementUnknown, EngagementLow, EngagementMedium, EngagementHigh}
	// EligibleStatuses are the statuses of leads that may still be nurtured
	// (enrolled in a campaign).
	EligibleStatuses = []string{StatusNew, StatusContacted, StatusEngaged}
)

// ValidStatus reports whether s is one of Statuses.
func ValidStatus(s string) bool { return slices.Contains(Statuses, s) }

// ValidEngagement reports whether s is one of EngagementLevels.
func ValidEngagement(s string) bool { return slices.Contains(EngagementLevels, s) }

// StatusList is Statuses for a message: "new, contacted, ...".
func StatusList() string { return strings.Join(Statuses, ", ") }

// EngagementList is EngagementLevels for a message: "unknown, low, ...".
func EngagementList() string { return strings.Join(EngagementLevels, ", ") }
