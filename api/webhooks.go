package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/internal/syncstart"
)

// MACHeader carries Airtable's webhook signature: hmac-sha256=<hex>.
const MACHeader = "X-Airtable-Content-MAC"

// ValidMAC checks header against the HMAC-SHA256 of body under secret, in
// constant time.
func ValidMAC(secret string, body []byte, header string) bool {
	return validMACKey([]byte(secret), body, header)
}

func validMACKey(key, body []byte, header string) bool {
	const prefix = "hmac-sha256="
	if !strings.HasPrefix(header, prefix) {
		return false
	}
	got, err := hex.DecodeString(strings.TrimPrefix(header, prefix))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// signedAirtable reads an Airtable webhook request for the path's client
// and checks its MAC with the key macKey finds for that client. It answers
// the client id, or false after answering the request itself: over 1 MiB
// is 413 (h.fail maps the MaxBytesError), a missing or bad MAC, an unknown
// client or one without a key is 401.
func (h *handlers) signedAirtable(c *gin.Context, macKey func(uuid.UUID) ([]byte, error)) (uuid.UUID, bool) {
	unauth := &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "missing or invalid " + MACHeader}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20))
	if err != nil {
		h.fail(c, err)
		return uuid.Nil, false
	}
	id, err := uuid.Parse(c.Param("client_id"))
	if err != nil {
		h.fail(c, unauth)
		return uuid.Nil, false
	}
	key, err := macKey(id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.fail(c, err)
		return uuid.Nil, false
	}
	if err != nil || len(key) == 0 || !validMACKey(key, body, c.GetHeader(MACHeader)) {
		h.fail(c, unauth)
		return uuid.Nil, false
	}
	return id, true
}

// airtableWebhook: an Airtable webhook ping for a client, keyed with the
// client's webhook_secret. A valid MAC starts the client's sync, or asks
// the running one to run once more when it ends; otherwise nothing starts.
func (h *handlers) airtableWebhook(c *gin.Context) {
	id, ok := h.signedAirtable(c, func(id uuid.UUID) ([]byte, error) {
		cl, err := h.store.GetClient(c.Request.Context(), id)
		return []byte(cl.WebhookSecret), err
	})
	if !ok {
		return
	}
	// Start a sync, or queue a re-run on the running one, in one
	// update-with-start.
	res, err := syncstart.Request(c.Request.Context(), h.store, h.temporal, h.taskQueue, id, "webhook:airtable", requestID(c))
	switch {
	case errors.Is(err, syncstart.ErrNoBase):
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "the client has no Airtable base configured"})
	case err != nil:
		h.fail(c, unavailable("could not start or join the sync", err))
	default:
		c.JSON(http.StatusAccepted, gin.H{"sync_id": res.SyncID, "started": res.Started, "rerun_queued": res.RerunQueued})
	}
}

// airtableNotification: Airtable's notification that the client's webhook
// has new payloads. The MAC is keyed with that webhook's own secret
// (macSecretBase64, decoded); a client without a webhook is 401 and
// nothing starts. A valid one starts the client's incremental sync
// (payloads after the stored cursor) or, while a sync runs, queues a
// re-run on it: one sync per client, never overlapping.
func (h *handlers) airtableNotification(c *gin.Context) {
	id, ok := h.signedAirtable(c, func(id uuid.UUID) ([]byte, error) {
		hook, err := h.store.GetAirtableWebhook(c.Request.Context(), id)
		if err != nil {
			return nil, err
		}
		key, err := base64.StdEncoding.DecodeString(hook.MACSecret)
		if err != nil {
			return nil, nil // an undecodable secret matches nothing: 401
		}
		return key, nil
	})
	if !ok {
		return
	}
	_, err := syncstart.RequestIncremental(c.Request.Context(), h.store, h.temporal, h.taskQueue, id, "webhook:airtable", requestID(c))
	switch {
	case errors.Is(err, syncstart.ErrNoBase):
		h.fail(c, &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "the client has no Airtable base configured"})
	case err != nil:
		h.fail(c, unavailable("could not start or join the sync", err))
	default:
		// Airtable expects 200 or 204 with an empty body.
		c.Status(http.StatusNoContent)
	}
}
