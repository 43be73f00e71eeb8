// Package smsemu is a local, in-memory emulator of Twilio's Programmable
// Messaging REST API (2010-04-01) for tests, benches and development. Only
// tests, the bench and cmd/sms-emulator import it; production code talks to
// it through internal/twilioapi and the official twilio-go client.
//
// It serves what Nurture uses:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json        send (201, status "queued")
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json  fetch (404: 20404)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages.json        list, newest first
//
// with Twilio's behaviour where a sender can trip over it: HTTP basic auth
// AccountSid:AuthToken (401, code 20003), Twilio's error body
// {"code","message","more_info","status"}, the validation codes (21604 no
// To, 21603 no From/MessagingServiceSid, 21602 no Body, 21211 To not E.164,
// 21617 Body over 1600 characters), segment counts (GSM-7 160/153, UCS-2
// 70/67), RFC 2822 dates, and the list filters To, From, DateSent,
// DateSent<, DateSent> with PageSize (default 50, at most 1000), Page and
// PageToken and Twilio's paging envelope. twilio-go's ListMessage and
// StreamMessage follow its next_page_uri.
//
// Point the official client at it with
//
//	rc := twilioapi.New(twilioapi.Config{AccountSID: emu.AccountSID(), AuthToken: emu.AuthToken(), BaseURL: server.URL})
//
// # Status walk and callbacks
//
// A message is "queued" for Options.CallbackDelay (default 50 ms), then
// "sent" (date_sent set) for as long again, then "delivered" — or
// "undelivered" / "failed" with an error code when a fault says so (a failed
// message goes queued → failed and is never sent). Fetches and listings show
// the walk as it stands. When a send carries StatusCallback (and callbacks
// are on), each step is POSTed to it as Twilio does — MessageSid, SmsSid,
// AccountSid, From, To, MessageStatus, SmsStatus, ApiVersion,
// MessagingServiceSid when set, ErrorCode for undelivered and failed —
// signed with X-Twilio-Signature (see Sign). The "queued" callback is due at
// once and can reach the receiver before the send's answer, as with Twilio.
// Callbacks are sent by a bounded worker pool fed by one timer, never block
// the send, are retried (100 ms, 200 ms, 400 ms) after a connection error
// or a 5xx, and can be duplicated or reordered by faults.
//
// Date filters: a YYYY-MM-DD value is a UTC day as Twilio documents it
// (DateSent: that day; DateSent>: on or after its midnight; DateSent<: on or
// before that day). twilio-go sends its time.Time parameters as RFC 3339
// times, which Twilio accepts too: the emulator then compares with the exact
// time (DateSent>: at or after it; DateSent<: at or before it; DateSent:
// that time's UTC day). Messages not sent yet (queued, failed) have no
// date_sent and match no date filter.
//
// # Inbound messages and opt-out
//
// POST /_emulator/inbound stores an inbound message (direction "inbound",
// status "received") and posts Twilio's incoming-message webhook —
// MessageSid, SmsMessageSid, SmsSid, AccountSid, MessagingServiceSid, From,
// To, Body, NumMedia, NumSegments, SmsStatus, ApiVersion, FromCountry,
// ToCountry, OptOutType for keywords — signed, to the number's inbound URL
// (PUT /_emulator/numbers/{number}) or Options.InboundURL, synchronously; it
// answers with the webhook's status, Content-Type and body, the message SID
// in X-Emulator-Message-Sid.
//
// A body that is one of STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
// REVOKE, OPTOUT (any case, surrounding spaces and punctuation ignored)
// opts the handset out of the number (and of the number's messaging
// service): sends from it to the handset answer 400 with 21610 until the
// handset sends START, YES or UNSTOP. Options.EnforceOptOut (default true)
// and PATCH /_emulator/settings switch the 21610 answers. No automatic
// confirmation reply is sent.
//
// # Admin API
//
// The admin API has no authentication and speaks JSON. Durations are Go
// duration strings ("200ms") or numbers of milliseconds.
//
//	GET    /_emulator/health
//	GET    /_emulator/messages?to=&from=&direction=   {"count","messages":[Message]} oldest first
//	GET    /_emulator/messages/count                  {"total","outbound","inbound","by_to":{number:n}}
//	GET    /_emulator/messages/{sid}                  Message
//	DELETE /_emulator/messages                        delete every message (pending callbacks dropped)
//	POST   /_emulator/inbound                         {"from","to","body","messagingServiceSid"?,"url"?} → the webhook's answer
//	GET    /_emulator/numbers                         {number: {"inboundUrl","messagingServiceSid"}}
//	PUT    /_emulator/numbers/{number}                {"inboundUrl"?,"messagingServiceSid"?}
//	DELETE /_emulator/numbers/{number}
//	GET    /_emulator/optouts                         [{"sender","recipient","since"}]
//	DELETE /_emulator/optouts                         clear every opt-out
//	GET    /_emulator/stats                           Stats
//	DELETE /_emulator/stats                           reset counters
//	GET    /_emulator/settings                        {"callbackDelay","callbacks","rateLimit","inboundUrl","enforceOptOut"}
//	PATCH  /_emulator/settings                        any of those keys
//	GET    /_emulator/faults                          Faults
//	PUT    /_emulator/faults                          Faults (replace)
//	PATCH  /_emulator/faults                          Faults keys to set; null removes one (numbers merge per number)
//	DELETE /_emulator/faults                          clear
//
// Faults (JSON keys): failNext + failStatus (the next N sends answer 5xx,
// code 20500), rateLimitNext (the next N sends answer 429, code 20429),
// rateLimitProbability (429 at random), timeoutNext + timeoutHold (the next N
// accepted sends are stored, counted and called back but never answered: the
// connection is held until the client gives up, or for timeoutHold, and
// closed without a response), failAfterAcceptNext (the next N accepted sends
// are stored, counted and called back, then answered 502 with code 20500),
// latency (added to every API request),
// duplicateCallbacks and reorderCallbacks (probabilities), finalStatus +
// errorCode (every message ends undelivered 30003/30005 or failed 30008),
// and numbers: {"+1555…": {"reject": 21610 | 21211 | …} or {"finalStatus":
// "undelivered", "errorCode": 30005}}. The settings' rateLimit is an
// account-wide limit of accepted sends per second beyond which sends answer
// 429.
//
// Stats.Duplicates counts stored outbound messages beyond the first with the
// same (to, body): an at-most-once sender keeps it at 0.
package smsemu
