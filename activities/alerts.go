package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/internal/store"
)

// Alert is something an admin must hear about.
type Alert struct {
	ID         string         `json:"id"` // stable across retries: receivers deduplicate on it
	ClientID   string         `json:"client_id"`
	Kind       string         `json:"kind"` // campaign.activation_failed, campaign.partial_enrollment, ...
	Severity   string         `json:"severity"`
	Subject    string         `json:"subject"`
	Message    string         `json:"message"`
	CampaignID string         `json:"campaign_id,omitempty"`
	SyncID     string         `json:"sync_id,omitempty"`
	Details    map[string]any `json:"details,omitempty"`
	At         time.Time      `json:"at"`
}

// AlertSink delivers an alert somewhere.
type AlertSink interface {
	Name() string
	Send(ctx context.Context, client store.Client, a Alert) error
}

// Alerts fans an alert out to every sink; the activity fails (and is
// retried by Temporal) if any sink fails.
type Alerts struct {
	Store *store.Store
	Sinks []AlertSink
}

// SignatureHeader carries the HMAC-SHA256 of the webhook body.
const SignatureHeader = "X-Nurture-Signature"

// SendAlert delivers the alert through every sink and records it in the audit log.
func (a *Alerts) SendAlert(ctx context.Context, al Alert) error {
	cid, err := uuid.Parse(al.ClientID)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("bad client id", "InvalidInput", err)
	}
	client, err := a.Store.GetClient(ctx, cid)
	if err != nil {
		return fmt.Errorf("load client: %w", err)
	}
	var errs []error
	for _, s := range a.Sinks {
		if err := s.Send(ctx, client, al); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return store.LogActivity(ctx, a.Store.Pool, store.Activity{ClientID: &cid, Actor: "system", Action: "alert." + al.Kind,
		Entity: "alert", EntityID: al.ID, Details: map[string]any{"subject": al.Subject, "campaign_id": al.CampaignID, "sync_id": al.SyncID}})
}

// LogSink writes alerts to the structured log.
type LogSink struct{ Log *zap.Logger }

// Name of the sink.
func (LogSink) Name() string { return "log" }

// Send logs the alert (no personal data is ever put in an alert).
func (s LogSink) Send(_ context.Context, c store.Client, a Alert) error {
	s.Log.Warn("ALERT", zap.String("alert_id", a.ID), zap.String("kind", a.Kind), zap.String("client_id", c.ID.String()),
		zap.String("campaign_id", a.CampaignID), zap.String("sync_id", a.SyncID), zap.String("subject", a.Subject), zap.String("message", a.Message))
	return nil
}

// WebhookSink POSTs the alert as JSON to the client's alert_webhook_url,
// signed with HMAC-SHA256 over the raw body using the client's secret:
// `X-Nurture-Signature: sha256=<hex>`. Clients without a URL are skipped.
type WebhookSink struct{ HTTP *http.Client }

// Name of the sink.
func (WebhookSink) Name() string { return "webhook" }

// Sign returns the signature header value for body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send posts the alert; a non-2xx answer is an error (retried).
func (s WebhookSink) Send(ctx context.Context, c store.Client, a Alert) error {
	if c.AlertWebhookURL == "" {
		return nil
	}
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.AlertWebhookURL, bytes.NewReader(body))
	if err != nil {
		return temporal.NewNonRetryableApplicationError("bad alert webhook URL", "InvalidInput", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(c.WebhookSecret, body))
	req.Header.Set("X-Nurture-Alert-ID", a.ID)
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("post alert: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("alert webhook answered %d", resp.StatusCode)
	}
	return nil
}
