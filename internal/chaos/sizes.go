package chaos

import "time"

// Sizes are the scenarios' dimensions: Full for make chaos, Reduced for
// make test (the same scenarios, smaller, and no wall-clock assertion).
type Sizes struct {
	// temporal-restart-timer: eligible leads, how far ahead the campaign
	// starts, how long Temporal stays down, and the lateness allowed after
	// start_at (0: reported, not asserted).
	TimerLeads  int
	StartAhead  time.Duration
	Downtime    time.Duration
	MaxLateness time.Duration

	// temporal-restart-review: records in the base, removed before the second sync.
	ReviewRecords, ReviewRemoved int

	// *-enroll: eligible leads; kills (terminations or SIGKILLs) inside batches.
	EnrollLeads                   int
	PGEnrollKills, EnrollSIGKILLs int

	// *-listing: records in the base, latency added to every Airtable
	// request (so the listing takes a few seconds), faults during it.
	ListRecords               int
	ListLatency               time.Duration
	PGListKills, ListSIGKILLs int

	// *-delete: records in the base and how many are removed (staged, then
	// approved); faults inside deletion batches.
	DeleteRecords, DeleteRemoved  int
	PGDeleteKills, DeleteSIGKILLs int

	// sigkill-send: leads of a two-step campaign, SIGKILLs while sending,
	// and the worker's SMS_RATE_PER_NUMBER (so the sending lasts a while).
	SendLeads, SendSIGKILLs, SendRate int

	// multi-campaigns: leads of the client and overlapping campaigns.
	MultiLeads, MultiCampaigns int
	// multi-webhook: records, Airtable latency and pings sent while the sync lists.
	WebhookRecords int
	WebhookLatency time.Duration
	WebhookPings   int
	// multi-drafts: parallel requests and AI_USER_LIMIT_PER_HOUR.
	Drafts, DraftLimit int
}

// Full are the sizes of make chaos.
func Full() Sizes {
	return Sizes{
		TimerLeads: 20000, StartAhead: 12 * time.Second, Downtime: 2 * time.Second, MaxLateness: 5 * time.Second,
		ReviewRecords: 12000, ReviewRemoved: 3000,
		EnrollLeads: 50000, PGEnrollKills: 3, EnrollSIGKILLs: 3,
		ListRecords: 20000, ListLatency: 25 * time.Millisecond, PGListKills: 3, ListSIGKILLs: 2,
		DeleteRecords: 25000, DeleteRemoved: 20000, PGDeleteKills: 3, DeleteSIGKILLs: 2,
		SendLeads: 10000, SendSIGKILLs: 3, SendRate: 600,
		MultiLeads: 20000, MultiCampaigns: 10,
		WebhookRecords: 5000, WebhookLatency: 60 * time.Millisecond, WebhookPings: 6,
		Drafts: 40, DraftLimit: 25,
	}
}

// Reduced are the sizes of make test: every scenario, a few minutes in all.
func Reduced() Sizes {
	return Sizes{
		TimerLeads: 2000, StartAhead: 12 * time.Second, Downtime: time.Second,
		ReviewRecords: 2000, ReviewRemoved: 500,
		EnrollLeads: 5000, PGEnrollKills: 3, EnrollSIGKILLs: 1,
		ListRecords: 4000, ListLatency: 60 * time.Millisecond, PGListKills: 2, ListSIGKILLs: 1,
		DeleteRecords: 6000, DeleteRemoved: 5000, PGDeleteKills: 2, DeleteSIGKILLs: 1,
		SendLeads: 3000, SendSIGKILLs: 2, SendRate: 600,
		MultiLeads: 4000, MultiCampaigns: 10,
		WebhookRecords: 2000, WebhookLatency: 150 * time.Millisecond, WebhookPings: 4,
		Drafts: 40, DraftLimit: 25,
	}
}
