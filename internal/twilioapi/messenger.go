package twilioapi

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twilio/twilio-go"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// Messenger sends and looks up SMS through the official client.
type Messenger struct {
	rc *twilio.RestClient
}

// NewMessenger wraps a client made by New.
func NewMessenger(rc *twilio.RestClient) *Messenger { return &Messenger{rc: rc} }

// Outcome classifies a failed send for the sender.
type Outcome int

// How a failed send is handled.
const (
	// Ambiguous: the request may have reached Twilio (a timeout, a cut
	// connection): the message may exist; reconcile before any retry.
	Ambiguous Outcome = iota
	// Retry: a 5xx (with Twilio's error body or a proxy's): the message
	// may or may not exist, so a sender asks before sending again.
	Retry
	// Throttled is Retry because of a rate limit (429): every worker backs off.
	Throttled
	// Unsubscribed: 21610, the recipient replied STOP to this sender.
	Unsubscribed
	// Refused: a 4xx about this recipient or message (21211 invalid
	// number, ...): no message, never retried.
	Refused
	// Account: a 4xx about the account or the sending number (401/403/404,
	// 20003 bad credentials, 21212/21606/21659/21660 a From the account
	// cannot use): no message; nothing is wrong with the recipient, so the
	// step waits for the configuration to be fixed.
	Account
)

// accountCodes are Twilio's errors about the account or the From number.
var accountCodes = map[int]bool{20003: true, 20404: true, 21212: true, 21603: true, 21606: true, 21659: true, 21660: true}

// Error codes Nurture acts on.
const (
	CodeUnsubscribed  = 21610
	CodeInvalidNumber = 21211
	CodeTooMany       = 20429
)

// Classify says how a send error is handled, with Twilio's error code.
func Classify(err error) (Outcome, int) {
	code, status, ok := ErrorCode(err)
	switch {
	case !ok:
		return Ambiguous, 0
	case code == CodeUnsubscribed:
		return Unsubscribed, code
	case status == 429 || code == CodeTooMany:
		return Throttled, code
	case status >= 500:
		return Retry, code
	case status == 401 || status == 403 || status == 404 || accountCodes[code]:
		return Account, code
	case status >= 400:
		return Refused, code
	}
	return Ambiguous, code
}

// Send creates one message; StatusCallback carries callback (the ledger
// row's id travels in it). It answers the message SID and status.
func (m *Messenger) Send(to, from, body, callback string) (string, string, error) {
	p := new(openapi.CreateMessageParams).SetTo(to).SetFrom(from).SetBody(body)
	if callback != "" {
		p.SetStatusCallback(callback)
	}
	msg, err := m.rc.Api.CreateMessage(p)
	if err != nil {
		return "", "", err
	}
	if msg.Sid == nil {
		return "", "", errors.New("twilio answered without a message sid")
	}
	status := ""
	if msg.Status != nil {
		status = *msg.Status
	}
	return *msg.Sid, status, nil
}

// Find looks for a message from from to to with this body created at or
// after since (newest first, the last 50 to that number): how a send
// whose answer was lost is settled without sending it again.
func (m *Messenger) Find(to, from, body string, since time.Time) (sid, status string, found bool, err error) {
	p := new(openapi.ListMessageParams).SetTo(to).SetFrom(from).SetPageSize(50).SetLimit(50)
	msgs, err := m.rc.Api.ListMessage(p)
	if err != nil {
		return "", "", false, fmt.Errorf("list messages: %w", err)
	}
	for _, msg := range msgs {
		if msg.Body == nil || msg.Sid == nil || strings.TrimSpace(*msg.Body) != strings.TrimSpace(body) {
			continue
		}
		if msg.DateCreated != nil {
			created, perr := time.Parse(time.RFC1123Z, *msg.DateCreated)
			if perr == nil && created.Before(since.Add(-2*time.Second)) {
				continue // an earlier message with the same text (another step, another campaign)
			}
		}
		st := ""
		if msg.Status != nil {
			st = *msg.Status
		}
		return *msg.Sid, st, true, nil
	}
	return "", "", false, nil
}
