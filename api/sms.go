package api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/campaign"
	"github.com/nurture-sms/nurture/internal/logging"
	"github.com/nurture-sms/nurture/internal/sms"
	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/twilioapi"
	"github.com/nurture-sms/nurture/workflows"
)

// SMSConfig is what the SMS routes need.
type SMSConfig struct {
	// AuthToken verifies X-Twilio-Signature on the webhooks.
	AuthToken string
	// PublicBaseURL is the address the provider posts to (what its
	// signature covers), e.g. https://nurture.example.com.
	PublicBaseURL string
	// DefaultFrom is the deployment's sending number.
	DefaultFrom string
	// Messenger sends test messages (nil: test-send answers 503).
	Messenger *twilioapi.Messenger
	// TestLimitPerHour caps test sends per user.
	TestLimitPerHour int
}

// ---- steering the sending ----

func (h *handlers) pauseCampaign(c *gin.Context) {
	h.steer(c, workflows.UpdatePause, http.StatusOK, workflows.SteerRequest{})
}

func (h *handlers) resumeCampaign(c *gin.Context) {
	h.steer(c, workflows.UpdateResume, http.StatusOK, workflows.SteerRequest{})
}

// ---- stats and history ----

type statsResponse struct {
	CampaignID  uuid.UUID              `json:"campaign_id"`
	Status      string                 `json:"status"`
	Steps       []store.StepStats      `json:"steps"`
	Enrollments store.EnrollmentCounts `json:"enrollments"`
}

func (h *handlers) campaignStats(c *gin.Context) {
	camp, ok := h.loadCampaign(c)
	if !ok {
		return
	}
	var steps []campaign.Step
	if err := json.Unmarshal(camp.Messages, &steps); err != nil {
		h.fail(c, err)
		return
	}
	st, err := h.store.CampaignStats(c.Request.Context(), camp.ID, len(steps))
	if err != nil {
		h.fail(c, err)
		return
	}
	counts, err := h.store.CampaignEnrollmentCounts(c.Request.Context(), camp.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, statsResponse{CampaignID: camp.ID, Status: camp.Status, Steps: st, Enrollments: counts})
}

func (h *handlers) leadMessages(c *gin.Context) {
	lead, ok := loadScoped(h, c, "lead", h.store.GetLead)
	if !ok {
		return
	}
	q := c.Request.URL.Query()
	for k := range q {
		if k != "limit" {
			h.fail(c, unknownParam(k))
			return
		}
	}
	limit := 100
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > 500 {
			h.fail(c, InvalidField("limit", "limit must be an integer from 1 to 500"))
			return
		}
		limit = n
	}
	msgs, err := h.store.LeadMessages(c.Request.Context(), lead.ID, limit)
	if err != nil {
		h.fail(c, err)
		return
	}
	if msgs == nil {
		msgs = []store.Message{}
	}
	c.JSON(http.StatusOK, gin.H{"data": msgs})
}

// UpdateLeadRequest is the body of PATCH /v1/leads/{id}.
type UpdateLeadRequest struct {
	Booked *bool `json:"booked"`
}

// updateLead records a booking: the lead leaves its sequence as converted.
func (h *handlers) updateLead(c *gin.Context) {
	id, err := ParseUUID("id", c.Param("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	var req UpdateLeadRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	if req.Booked == nil {
		h.fail(c, InvalidField("booked", "booked is required (the only field a lead takes here; the rest comes from Airtable)"))
		return
	}
	ended, err := h.store.SetBooked(c.Request.Context(), scopeOf(principal(c)), id, *req.Booked, principal(c).Actor(), requestID(c))
	if err != nil {
		h.fail(c, notFoundAs(err, "lead"))
		return
	}
	lead, err := h.store.GetLead(c.Request.Context(), scopeOf(principal(c)), id)
	if err != nil {
		h.fail(c, notFoundAs(err, "lead"))
		return
	}
	c.JSON(http.StatusOK, gin.H{"lead": lead, "enrollments_converted": ended})
}

// ---- test send ----

// TestSendRequest is the body of POST /v1/campaigns/{id}/test-send.
type TestSendRequest struct {
	Step   int     `json:"step"` // 1-based
	LeadID *string `json:"lead_id"`
	Values *struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	} `json:"values"`
	To string `json:"to"`
}

func (h *handlers) testSend(c *gin.Context) {
	ctx := c.Request.Context()
	camp, ok := h.loadCampaign(c)
	if !ok {
		return
	}
	var req TestSendRequest
	if err := DecodeJSON(c.Request.Body, &req); err != nil {
		h.fail(c, err)
		return
	}
	var steps []campaign.Step
	if err := json.Unmarshal(camp.Messages, &steps); err != nil {
		h.fail(c, err)
		return
	}
	if req.Step < 1 || req.Step > len(steps) {
		h.fail(c, InvalidField("step", fmt.Sprintf("step must be from 1 to %d", len(steps))))
		return
	}
	if !sms.ValidE164(req.To) {
		h.fail(c, InvalidField("to", "to must be an E.164 phone number such as +15551234567"))
		return
	}
	if req.LeadID != nil && req.Values != nil {
		h.fail(c, InvalidField("values", "give lead_id or values, not both"))
		return
	}
	v := campaign.Values{}
	if req.LeadID != nil {
		lid, err := ParseUUID("lead_id", *req.LeadID)
		if err != nil {
			h.fail(c, err)
			return
		}
		lead, err := h.store.GetLead(ctx, &camp.ClientID, lid)
		if err != nil {
			h.fail(c, notFoundAs(err, "lead"))
			return
		}
		v.FirstName, v.LastName = lead.FirstName, lead.LastName
	} else if req.Values != nil {
		v.FirstName, v.LastName = req.Values.FirstName, req.Values.LastName
	}
	cl, err := h.store.GetClient(ctx, camp.ClientID)
	if err != nil {
		h.fail(c, err)
		return
	}
	bookingLink, err := h.store.CampaignBookingLink(ctx, camp.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	v.BookingLink, v.ClientName = bookingLink, cl.Name
	body := campaign.Render(steps[req.Step-1].Body, v)
	if h.sms.Messenger == nil {
		h.fail(c, unavailable("no SMS provider configured", errors.New("no messenger")))
		return
	}
	id := uuid.New()
	dec, err := h.store.ReserveTestSend(ctx, id, camp.ID, camp.ClientID, principal(c).TokenID, req.Step, req.To, body, h.sms.TestLimitPerHour)
	if err != nil {
		h.fail(c, err)
		return
	}
	if dec.OptedOut {
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeConflict,
			Message: "this number opted out of the client's messages (STOP); no test message is sent to it"})
		return
	}
	if !dec.Allowed {
		retry := max(1, int(math.Ceil(dec.Reset.Sub(dec.Now).Seconds())))
		c.Header("Retry-After", strconv.Itoa(retry))
		h.fail(c, &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
			Message: fmt.Sprintf("test-send limit reached (%d per user per hour); retry after %d s", dec.Limit, retry)})
		return
	}
	from := cl.SMSFrom
	if from == "" {
		from = h.sms.DefaultFrom
	}
	sid, status, serr := h.sms.Messenger.Send(req.To, from, body, "")
	if serr != nil {
		_ = h.store.FinishTestSend(ctx, id, store.SendFailed, "", serr.Error())
		_, code := twilioapi.Classify(serr)
		h.fail(c, &withCause{api: &Error{Status: http.StatusBadGateway, Code: CodeUnavailable,
			Message: fmt.Sprintf("the SMS provider refused the test message (code %d)", code)}, cause: serr})
		return
	}
	if err := h.store.FinishTestSend(ctx, id, store.SendSent, sid, ""); err != nil {
		h.fail(c, err)
		return
	}
	an := sms.Analyze(body)
	Logger(c).Info("test send", zap.String("campaign_id", camp.ID.String()), zap.String("to", logging.MaskPhone(req.To)))
	c.JSON(http.StatusOK, gin.H{"test": true, "id": id, "step": req.Step, "to": req.To, "from": from, "body": body,
		"provider_sid": sid, "provider_status": status, "segments": an.Segments, "encoding": an.Encoding})
}

// ---- webhooks (signed by the provider, not by a bearer token) ----

// SignatureHeader carries Twilio's webhook signature.
const SignatureHeader = "X-Twilio-Signature"

// verifyTwilio reads the form and checks its signature over the public URL
// of this request; false: answered 403, nothing changed.
func (h *handlers) verifyTwilio(c *gin.Context) (url.Values, bool) {
	forbidden := &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "missing or invalid " + SignatureHeader}
	if err := c.Request.ParseForm(); err != nil {
		h.fail(c, forbidden)
		return nil, false
	}
	public := strings.TrimRight(h.sms.PublicBaseURL, "/") + c.Request.URL.RequestURI()
	if h.sms.AuthToken == "" || !twilioapi.ValidateSignature(h.sms.AuthToken, public, c.Request.PostForm, c.GetHeader(SignatureHeader)) {
		h.fail(c, forbidden)
		return nil, false
	}
	return c.Request.PostForm, true
}

// Keywords, as the carriers' and Twilio's opt-out handling knows them.
var (
	optOutWords = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true}
	helpWords   = map[string]bool{"HELP": true, "INFO": true}
	optInWords  = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
)

// Keyword classifies an inbound body: opt_out, help, opt_in, or reply. A
// keyword counts only when it is the whole message (any case, surrounding
// whitespace and punctuation ignored): "Stop." is an opt-out, "please stop
// texting me" a reply.
func Keyword(body string) string {
	w := strings.ToUpper(strings.TrimFunc(body, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) }))
	switch {
	case optOutWords[w]:
		return "opt_out"
	case helpWords[w]:
		return "help"
	case optInWords[w]:
		return "opt_in"
	}
	return "reply"
}

type twiml struct {
	XMLName  xml.Name `xml:"Response"`
	Messages []string `xml:"Message,omitempty"`
}

// smsInbound takes the provider's inbound message: STOP-class words stop the
// phone at every client it came in for (and end its enrollments at once),
// HELP answers with the client's help text, START re-subscribes, anything
// else is a reply that ends the automated sequence. The answer is TwiML:
// the provider sends the confirmation.
func (h *handlers) smsInbound(c *gin.Context) {
	form, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	from, to, body, sid := form.Get("From"), form.Get("To"), form.Get("Body"), form.Get("MessageSid")
	if from == "" || to == "" || sid == "" {
		h.fail(c, InvalidField("From", "From, To and MessageSid are required"))
		return
	}
	clients, err := h.store.ClientsForInbound(ctx, to, h.sms.DefaultFrom, from)
	if err != nil {
		h.fail(c, err)
		return
	}
	kind := Keyword(body)
	// The action is taken whether or not the message was stored before: a
	// provider retry after an answer that failed half-way must not find the
	// message recorded and its opt-out never applied (each action is
	// idempotent). A client that hangs up does not cut it short either.
	ctx = context.WithoutCancel(ctx)
	var reply []string
	shared := h.sms.DefaultFrom != "" && to == h.sms.DefaultFrom && sms.ValidE164(from)
	if shared && (kind == "opt_out" || kind == "opt_in") {
		// STOP (or START) to the shared number is about that number: every
		// client sending from it, including those with no lead of that
		// phone yet (one imported later must not be messaged after a STOP).
		var err error
		if kind == "opt_out" {
			_, err = h.store.SharedNumberOptOut(ctx, from, "sms:STOP")
		} else {
			_, err = h.store.SharedNumberOptIn(ctx, from)
		}
		if err != nil {
			h.fail(c, err)
			return
		}
		// The answer is about the number, whoever's lead the phone is.
		if kind == "opt_out" {
			reply = append(reply, "You are unsubscribed and will receive no more messages from this number. Reply START to resubscribe.")
		} else {
			reply = append(reply, "You are resubscribed to messages from this number. Reply STOP to cancel. Msg&data rates may apply.")
		}
	}
	for i, cl := range clients {
		_, err := h.store.RecordInbound(ctx, store.Inbound{ClientID: cl.ID, LeadID: cl.LeadID, ProviderSID: sid, From: from, To: to, Body: body, Kind: kind})
		if err != nil {
			h.fail(c, err)
			return
		}
		program := cl.ProgramName
		if program == "" {
			program = cl.Name
		}
		switch kind {
		case "opt_out":
			if _, _, err := h.store.OptOut(ctx, cl.ID, from, "sms:STOP"); err != nil {
				h.fail(c, err)
				return
			}
			if i == 0 && !shared {
				reply = append(reply, fmt.Sprintf("%s: you are unsubscribed and will receive no more messages. Reply START to resubscribe.", program))
			}
		case "opt_in":
			if _, err := h.store.OptIn(ctx, cl.ID, from); err != nil {
				h.fail(c, err)
				return
			}
			if i == 0 && !shared {
				reply = append(reply, fmt.Sprintf("%s: you are resubscribed. Reply HELP for help, STOP to cancel. Msg&data rates may apply.", program))
			}
		case "help":
			if i == 0 {
				reply = append(reply, helpText(cl, program))
			}
		default:
			if _, err := h.store.MarkReplied(ctx, cl.ID, from); err != nil {
				h.fail(c, err)
				return
			}
		}
	}
	Logger(c).Info("sms inbound", zap.String("from", logging.MaskPhone(from)), zap.String("kind", kind), zap.Int("clients", len(clients)))
	raw, _ := xml.Marshal(twiml{Messages: reply})
	c.Data(http.StatusOK, "text/xml; charset=utf-8", append([]byte(xml.Header), raw...))
}

// helpText is what HELP answers: program, contact, how to stop, frequency,
// and "Msg&data rates may apply" (CTIA).
func helpText(cl store.SMSClient, program string) string {
	if cl.HelpText != "" {
		return cl.HelpText
	}
	contact := cl.Contact
	if contact == "" {
		contact = "reply to this message"
	}
	return fmt.Sprintf("%s: appointment reminders and offers. Help: %s. Up to %d msgs/day. Reply STOP to cancel. Msg&data rates may apply.",
		program, contact, cl.MaxPerDay)
}

// callbackStatus maps the provider's MessageStatus onto the ledger's.
var callbackStatus = map[string]string{"accepted": store.SendSent, "scheduled": store.SendSent, "queued": store.SendSent,
	"sending": store.SendSent, "sent": store.SendSent, "delivered": store.SendDelivered, "undelivered": store.SendUndelivered,
	"failed": store.SendFailed}

// smsStatus takes a delivery callback (?send_id= names the ledger row): it
// moves the row forward only (they arrive out of order and twice); a 21610
// stops the lead.
func (h *handlers) smsStatus(c *gin.Context) {
	form, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	id, err := ParseUUID("send_id", c.Query("send_id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	status, known := callbackStatus[form.Get("MessageStatus")]
	if !known {
		c.JSON(http.StatusOK, gin.H{"changed": false})
		return
	}
	code, _ := strconv.Atoi(form.Get("ErrorCode"))
	changed, err := h.store.ApplyStatusCallback(c.Request.Context(), id, form.Get("MessageSid"), status, code)
	switch {
	case errors.Is(err, store.ErrNoSend):
		h.fail(c, errNotFound("send"))
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	if code == twilioapi.CodeUnsubscribed {
		if err := h.store.OptOutBySend(c.Request.Context(), id, "provider:21610"); err != nil {
			h.fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"changed": changed})
}
