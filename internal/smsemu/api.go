package smsemu

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Handler returns the HTTP handler serving the Messages API under
// /2010-04-01/ and the admin API under /_emulator/.
func (e *Emulator) Handler() http.Handler {
	e.handlerOnce.Do(func() {
		mux := http.NewServeMux()
		const p = "/" + APIVersion + "/Accounts/{AccountSid}/"
		mux.HandleFunc("POST "+p+"Messages.json", e.handleCreate)
		mux.HandleFunc("GET "+p+"Messages.json", e.handleList)
		mux.HandleFunc("GET "+p+"Messages/{file}", e.handleFetch)
		mux.HandleFunc("/"+APIVersion+"/", func(w http.ResponseWriter, r *http.Request) {
			e.stats.requests.Add(1)
			writeError(w, apiError{404, 20404, "The requested resource " + r.URL.Path + " was not found"})
		})
		e.registerAdmin(mux)
		e.handler = mux
	})
	return e.handler
}

// apiError is one of Twilio's error answers.
type apiError struct {
	status, code int
	message      string
}

// errorMessages are Twilio's texts for the codes the emulator answers.
var errorMessages = map[int]string{
	20001: "Invalid parameter",
	20003: "Authenticate",
	20404: "The requested resource was not found",
	20429: "Too Many Requests",
	20500: "An internal server error has occurred",
	21211: "The 'To' number is not a valid phone number.",
	21602: "Message body is required.",
	21603: "A 'From' phone number is required.",
	21604: "A 'To' phone number is required.",
	21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
	21610: "Attempt to send to unsubscribed recipient",
	21612: "The 'To' phone number is not currently reachable via SMS.",
	21614: "'To' number is not a valid mobile number",
	21617: "The concatenated message body exceeds the 1600 character limit.",
	30003: "Unreachable destination handset",
	30005: "Unknown destination handset",
	30006: "Landline or unreachable carrier",
	30007: "Message filtered",
	30008: "Unknown error",
}

func errCode(status, code int) apiError {
	msg, ok := errorMessages[code]
	if !ok {
		msg = "Error " + strconv.Itoa(code)
	}
	return apiError{status, code, msg}
}

func errInvalidTo(to string) apiError {
	return apiError{400, 21211, "The 'To' number " + to + " is not a valid phone number."}
}

func writeError(w http.ResponseWriter, ae apiError) {
	bp := getBuf()
	b := append(*bp, `{"code":`...)
	b = strconv.AppendInt(b, int64(ae.code), 10)
	b = append(b, `,"message":`...)
	b = appendString(b, ae.message)
	b = append(b, `,"more_info":"https://www.twilio.com/docs/errors/`...)
	b = strconv.AppendInt(b, int64(ae.code), 10)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(ae.status), 10)
	b = append(b, '}')
	writeRaw(w, ae.status, b)
	*bp = b
	putBuf(bp)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

var jsonContentType = []string{"application/json; charset=utf-8"}

func basicAuthHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// admitAPI runs what every API request goes through: injected latency,
// authentication and the account SID of the path. It returns 0 to go on,
// else the Twilio error code it answered with (-1: the client went away).
func (e *Emulator) admitAPI(w http.ResponseWriter, r *http.Request) int {
	if d := e.latency(); d > 0 && !sleepCtx(r, d, e.closed) {
		return -1
	}
	if h := r.Header.Get("Authorization"); h != e.authHeader {
		u, p, ok := r.BasicAuth()
		if !ok || u != e.accountSID || p != e.authToken {
			e.stats.unauthorized.Add(1)
			writeError(w, errCode(401, 20003))
			return 20003
		}
	}
	if r.PathValue("AccountSid") != e.accountSID {
		writeError(w, apiError{404, 20404, "The requested resource " + r.URL.Path + " was not found"})
		return 20404
	}
	return 0
}

// sleepCtx waits d; false if the request ended first.
func sleepCtx(r *http.Request, d time.Duration, closed <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-closed:
		return false
	}
}

func (e *Emulator) handleCreate(w http.ResponseWriter, r *http.Request) {
	e.stats.requests.Add(1)
	e.stats.sends.Add(1)
	if code := e.admitAPI(w, r); code != 0 {
		if code > 0 {
			e.stats.reject(code)
		}
		return
	}
	if !e.lim.allow() {
		e.sendError(w, errCode(429, 20429))
		return
	}
	if sf := e.preSend(); sf.status != 0 {
		e.sendError(w, errCode(sf.status, sf.code))
		return
	}
	if err := r.ParseForm(); err != nil {
		e.sendError(w, apiError{400, 20001, "Invalid request body"})
		return
	}
	f := r.PostForm
	to, from, msid, body := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid"), f.Get("Body")
	hasMedia := f.Get("MediaUrl") != "" || f.Get("ContentSid") != ""
	switch {
	case to == "":
		e.sendError(w, errCode(400, 21604))
		return
	case from == "" && msid == "":
		e.sendError(w, errCode(400, 21603))
		return
	case body == "" && !hasMedia:
		e.sendError(w, errCode(400, 21602))
		return
	case !isE164(to):
		e.sendError(w, errInvalidTo(to))
		return
	case bodyLength(body) > MaxBodyLength:
		e.sendError(w, errCode(400, 21617))
		return
	}
	af := e.onAccept(to)
	if af.reject != 0 {
		if af.reject == 21211 {
			e.sendError(w, errInvalidTo(to))
		} else {
			e.sendError(w, errCode(400, af.reject))
		}
		return
	}

	e.setMu.RLock()
	step, callbacksOn, enforce := e.callbackDelay, !e.noCallbacks, e.enforceOptOut
	e.setMu.RUnlock()
	m := &message{to: to, from: from, body: body, msid: msid, segments: segments(body),
		step: step, final: af.final, errorCode: af.errorCode}
	if callbacksOn {
		m.callback = f.Get("StatusCallback")
	}
	now := e.now().UTC()
	m.created = now

	e.mu.Lock()
	if enforce && e.optedOutLocked(from, msid, to) {
		e.mu.Unlock()
		e.sendError(w, errCode(400, 21610))
		return
	}
	gen := e.storeLocked(m)
	e.mu.Unlock()
	e.stats.accepted.Add(1)
	if m.callback != "" {
		e.cb.schedule(m, gen, af.dupP, af.reordP)
	}

	if withhold, hold := e.takeTimeout(); withhold {
		e.stats.unanswered.Add(1)
		e.withhold(r, hold)
		return
	}
	if e.takeFailAfterAccept() {
		e.stats.unanswered.Add(1)
		writeError(w, errCode(502, 20500))
		return
	}
	bp := getBuf()
	b := e.appendMessage(*bp, m, m.view(m.created))
	writeRaw(w, http.StatusCreated, b)
	*bp = b
	putBuf(bp)
}

// sendError answers a send with an error and counts it.
func (e *Emulator) sendError(w http.ResponseWriter, ae apiError) {
	switch {
	case ae.status == 429:
		e.stats.rateLimited.Add(1)
	case ae.status >= 500:
		e.stats.serverErrors.Add(1)
	}
	e.stats.reject(ae.code)
	writeError(w, ae)
}

// optedOutLocked reports whether recipient opted out of the sender number
// or the messaging service. Called with mu held.
func (e *Emulator) optedOutLocked(from, msid, recipient string) bool {
	if len(e.optOuts) == 0 {
		return false
	}
	if from != "" {
		if _, ok := e.optOuts[optKey{from, recipient}]; ok {
			return true
		}
	}
	if msid != "" {
		if _, ok := e.optOuts[optKey{msid, recipient}]; ok {
			return true
		}
	}
	return false
}

// storeLocked gives m a sid and stores it; it returns the store's
// generation. Called with mu held.
func (e *Emulator) storeLocked(m *message) uint64 {
	e.seq++
	m.seq = e.seq
	m.sid = e.newSid("SM")
	e.msgs = append(e.msgs, m)
	e.bySid[m.sid] = m
	e.byTo[m.to] = append(e.byTo[m.to], m)
	if m.inbound {
		e.inboundCount++
	} else {
		k := m.to + "\x00" + m.body
		n := e.dupKeys[k]
		if n > 0 {
			e.dups++
		}
		e.dupKeys[k] = n + 1
	}
	return e.gen.Load()
}

// withhold keeps an accepted send unanswered: it waits for the client to
// give up (or hold), then aborts the connection without a response.
func (e *Emulator) withhold(r *http.Request, hold time.Duration) {
	if hold <= 0 || hold > maxHold {
		hold = maxHold
	}
	t := time.NewTimer(hold)
	select {
	case <-r.Context().Done():
	case <-t.C:
	case <-e.closed:
	}
	t.Stop()
	// net/http closes the connection (resets the HTTP/2 stream) and writes
	// nothing; ErrAbortHandler is not logged.
	panic(http.ErrAbortHandler)
}

func (e *Emulator) handleFetch(w http.ResponseWriter, r *http.Request) {
	e.stats.requests.Add(1)
	e.stats.fetches.Add(1)
	if e.admitAPI(w, r) != 0 {
		return
	}
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	var m *message
	if ok {
		e.mu.Lock()
		m = e.bySid[sid]
		e.mu.Unlock()
	}
	if m == nil {
		writeError(w, apiError{404, 20404, "The requested resource " + r.URL.Path + " was not found"})
		return
	}
	bp := getBuf()
	b := e.appendMessage(*bp, m, m.view(e.now()))
	writeRaw(w, http.StatusOK, b)
	*bp = b
	putBuf(bp)
}

// msgView is a message's state at one moment.
type msgView struct {
	status    string
	errorCode int
	sent      time.Time // zero: not sent
	updated   time.Time
}

// view computes the status walk: an outbound message is queued for one
// step, then sent (date_sent set) for one step, then delivered or
// undelivered; a failing one is queued for one step, then failed (never
// sent). Inbound messages are received.
func (m *message) view(now time.Time) msgView {
	if m.inbound {
		return msgView{status: "received", sent: m.created, updated: m.created}
	}
	el := now.Sub(m.created)
	switch {
	case el < m.step:
		return msgView{status: "queued", updated: m.created}
	case m.final == "failed":
		return msgView{status: "failed", errorCode: m.errorCode, updated: m.created.Add(m.step)}
	case el < 2*m.step:
		t := m.created.Add(m.step)
		return msgView{status: "sent", sent: t, updated: t}
	}
	v := msgView{status: m.final, sent: m.created.Add(m.step), updated: m.created.Add(2 * m.step)}
	if m.final != "delivered" {
		v.errorCode = m.errorCode
	}
	return v
}

// walk lists the statuses a message's callbacks report and when, relative
// to its creation.
func (m *message) walk() ([3]string, [3]time.Duration, int) {
	if m.final == "failed" {
		return [3]string{"queued", "failed"}, [3]time.Duration{0, m.step}, 2
	}
	return [3]string{"queued", "sent", m.final}, [3]time.Duration{0, m.step, 2 * m.step}, 3
}

func (m *message) direction() string {
	if m.inbound {
		return "inbound"
	}
	return "outbound-api"
}

// appendMessage appends Twilio's Message resource JSON.
func (e *Emulator) appendMessage(b []byte, m *message, v msgView) []byte {
	b = append(b, `{"account_sid":"`...)
	b = append(b, e.accountSID...)
	b = append(b, `","api_version":"2010-04-01","body":`...)
	b = appendString(b, m.body)
	b = append(b, `,"date_created":`...)
	b = appendTime(b, m.created)
	b = append(b, `,"date_sent":`...)
	b = appendTime(b, v.sent)
	b = append(b, `,"date_updated":`...)
	b = appendTime(b, v.updated)
	b = append(b, `,"direction":"`...)
	b = append(b, m.direction()...)
	b = append(b, `","error_code":`...)
	if v.errorCode != 0 {
		b = strconv.AppendInt(b, int64(v.errorCode), 10)
		b = append(b, `,"error_message":`...)
		b = appendString(b, errCode(400, v.errorCode).message)
	} else {
		b = append(b, `null,"error_message":null`...)
	}
	b = append(b, `,"from":`...)
	b = appendNullable(b, m.from)
	b = append(b, `,"messaging_service_sid":`...)
	b = appendNullable(b, m.msid)
	b = append(b, `,"num_media":"0","num_segments":"`...)
	b = strconv.AppendInt(b, int64(m.segments), 10)
	b = append(b, `","price":null,"price_unit":"USD","sid":"`...)
	b = append(b, m.sid...)
	b = append(b, `","status":"`...)
	b = append(b, v.status...)
	b = append(b, `","subresource_uris":{"media":"/2010-04-01/Accounts/`...)
	b = append(b, e.accountSID...)
	b = append(b, `/Messages/`...)
	b = append(b, m.sid...)
	b = append(b, `/Media.json","feedback":"/2010-04-01/Accounts/`...)
	b = append(b, e.accountSID...)
	b = append(b, `/Messages/`...)
	b = append(b, m.sid...)
	b = append(b, `/Feedback.json"},"to":`...)
	b = appendString(b, m.to)
	b = append(b, `,"uri":"/2010-04-01/Accounts/`...)
	b = append(b, e.accountSID...)
	b = append(b, `/Messages/`...)
	b = append(b, m.sid...)
	b = append(b, `.json"}`...)
	return b
}

// rfc2822 is Twilio's timestamp format: "Mon, 02 Jan 2006 15:04:05 +0000".
const rfc2822 = time.RFC1123Z

// appendTime appends t in Twilio's format, or null for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, rfc2822)
	return append(b, '"')
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getBuf() *[]byte {
	bp := bufPool.Get().(*[]byte)
	*bp = (*bp)[:0]
	return bp
}

func putBuf(bp *[]byte) {
	if cap(*bp) <= 1<<16 {
		bufPool.Put(bp)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
