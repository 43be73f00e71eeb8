package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/store"
)

// routeOp is one operation of openapi.yaml.
type routeOp struct {
	key    string // "GET /v1/leads/{id}"
	method string
	path   string // the template, "/v1/leads/{id}"
	params openapi3.Parameters
	body   *openapi3.Schema // the JSON request body, nil when none
	bearer bool             // needs Authorization: Bearer
}

// routeOps lists every operation of the OpenAPI document, in a stable order.
func routeOps(t testing.TB) []routeOp {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	var ops []routeOp
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, path := range keys {
		item := paths[path]
		methods := item.Operations()
		names := make([]string, 0, len(methods))
		for m := range methods {
			names = append(names, m)
		}
		slices.Sort(names)
		for _, m := range names {
			op := methods[m]
			r := routeOp{key: m + " " + path, method: m, path: path, bearer: true}
			r.params = append(r.params, item.Parameters...)
			r.params = append(r.params, op.Parameters...)
			if op.Security != nil && len(*op.Security) == 0 {
				r.bearer = false
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					r.body = mt.Schema.Value
				}
			}
			ops = append(ops, r)
		}
	}
	if len(ops) < 20 {
		t.Fatalf("only %d operations in openapi.yaml", len(ops))
	}
	return ops
}

// fuzzWorld is what the requests of FuzzEveryRoute point at: a client with
// leads, a campaign and a sync, another client, and tokens of every role.
type fuzzWorld struct {
	router               http.Handler
	ops                  []routeOp
	client, other        uuid.UUID
	campaign, sync, lead uuid.UUID
	super, admin, viewer string
	otherAdmin           string
	placeholders         *strings.Replacer
	campaignIDs, syncIDs []string
	leadIDs, clientIDs   []string
	taskIDs              []string
	names                []string
}

func newFuzzWorld(t testing.TB) *fuzzWorld {
	t.Helper()
	{
		ctx := context.Background()
		w := &fuzzWorld{ops: routeOps(t)}
		tn := newTenant(t, "fuzz")
		ot := newTenant(t, "fuzz-other")
		w.client, w.admin, w.viewer = tn.ID, tn.Admin, tn.Viewer
		w.other, w.otherAdmin = ot.ID, ot.Admin
		w.super = superToken(t)
		seedLeads(t, tn.ID, 20, time.Now().UTC())
		if err := testDB.Pool.QueryRow(ctx, `SELECT id FROM leads WHERE client_id = $1 LIMIT 1`, tn.ID).Scan(&w.lead); err != nil {
			t.Fatal(err)
		}
		w.campaign = uuid.New()
		failed := uuid.New()
		if _, err := testDB.Pool.Exec(ctx, `INSERT INTO campaigns (id, client_id, name, workflow_id, status, start_at)
			VALUES ($1, $3, 'fuzz scheduled', $4, 'scheduled', now() + interval '1 day'),
			       ($2, $3, 'fuzz failed', $5, 'failed_activation', NULL)`,
			w.campaign, failed, tn.ID, "campaign/"+w.campaign.String(), "campaign/"+failed.String()); err != nil {
			t.Fatal(err)
		}
		w.sync = uuid.New()
		if _, err := testDB.Pool.Exec(ctx, `INSERT INTO sync_runs (id, client_id, workflow_id, phase, finished_at)
			VALUES ($1, $2, 'sync/fuzz', 'completed', now())`, w.sync, tn.ID); err != nil {
			t.Fatal(err)
		}
		w.placeholders = strings.NewReplacer("$client", tn.ID.String(), "$other", ot.ID.String(), "$campaign", w.campaign.String(),
			"$sync", w.sync.String(), "$lead", w.lead.String())
		w.campaignIDs = []string{w.campaign.String(), failed.String()}
		w.syncIDs = []string{w.sync.String()}
		w.leadIDs = []string{w.lead.String()}
		var taskID uuid.UUID
		if err := testDB.Pool.QueryRow(ctx, `INSERT INTO tasks (client_id, title, status) VALUES ($1, 'fuzz task', 'todo') RETURNING id`, tn.ID).
			Scan(&taskID); err != nil {
			t.Fatal(err)
		}
		w.taskIDs = []string{taskID.String()}
		w.clientIDs = []string{tn.ID.String(), ot.ID.String()}
		w.names = []string{"Spring", "Spring check-in", "Q1", "fuzz scheduled", "Acme", "Acme Dental", "x"}
		w.router = api.Router(api.Deps{Store: testStore, Temporal: testTemporal, Logger: zap.NewNop(), TaskQueue: "test"})
		return w
	}
}

// rawJSON is written into a body as is.
type rawJSON string

// member is one ordered member of a generated JSON object.
type member struct {
	key string
	val any
}

// gen draws choices from fuzzed bytes (zeros once they run out). Every
// place that may take junk asks junky(); junkAt names the (few) places
// that do, so the rest of the request is valid and the junk reaches the
// code behind the validation it does not touch.
type gen struct {
	data   []byte
	i      int
	places int
	junkAt map[int]bool
}

// newGen reads how many junk places (0..3) and which ones from choices.
func newGen(choices []byte) *gen {
	g := &gen{data: choices, junkAt: map[int]bool{}}
	for range []int{0, 1, 1, 1, 2, 3}[g.byte()%6] {
		g.junkAt[int(g.byte()%32)] = true
	}
	return g
}

func (g *gen) byte() byte {
	if g.i >= len(g.data) {
		g.i++
		return 0
	}
	b := g.data[g.i]
	g.i++
	return b
}

func (g *gen) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int(g.byte()) % n
}

// chance is true one time in n (for zero bytes: never, so an exhausted
// generator builds plain, valid requests).
func (g *gen) chance(n int) bool { return g.byte()%byte(n) == byte(n-1) }

// junky reports whether this place takes junk.
func (g *gen) junky() bool {
	g.places++
	return g.junkAt[g.places-1]
}

// junk strings: the edge cases of text.
var junkStrings = []string{
	"", " ", "\x00", "a\x00b", "\xff", "ok\xc3\x28", "\xed\xa0\x80", "\u202egnp", "\ufeff", "\u200b", "\t\n",
	strings.Repeat("a", 2049), strings.Repeat("é", 201), "%00", "%zz", "null", "'; DROP TABLE leads; --", "{{first_name}}",
	"2026-13-45T99:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-01-01T00:00:00+25:00", "-1", "1e400",
	"00000000-0000-0000-0000-000000000000", "{00000000-0000-0000-0000-000000000000}", "urn:uuid:00000000-0000-0000-0000-000000000000",
	"https://calendly.com/acme", "javascript:alert(1)", "https://evil.test/", "a@b.co", "appABCDEFGHIJKLMN", "America/New_York", "Local",
}

// junk numbers: past int32 and int64, fractional, exponent, negative zero.
var junkNumbers = []rawJSON{`2147483647`, `2147483648`, `-2147483649`, `4294967296`, `9223372036854775807`, `-9223372036854775809`,
	`99999999999999999999`, `1e400`, `1e9`, `1.5`, `-0`, `-1`}

// propertyJunk is what the seed corpus puts in each property of each body
// (one at a time, the rest valid): a value of each junk class.
var propertyJunk = []any{"a\x00b", "\xff\xfe", "\u202e", rawJSON(`"\ud800"`), rawJSON(`2147483648`), rawJSON(`99999999999999999999`),
	rawJSON(`-1`), true, []member{}}

// junk JSON values: wrong types, huge numbers, text escapes, nesting.
var junkJSON = []rawJSON{
	`1e400`, `99999999999999999999`, `2147483648`, `-2147483649`, `9223372036854775807`, `-9223372036854775809`, `-1`, `0`, `1.5`, `-0`,
	`true`, `null`, `[]`, `{}`, `"\u0000"`, `"\ud800"`, `"\udc00"`, `"\ud83d\ude00"`, `"a\u202eb"`, `[[[[[[[[[[]]]]]]]]]]`,
	`{"a":{"b":"\u0000"}}`, `["\u0000"]`, `[1,"x",null]`, `""`, `"` + rawJSON(strings.Repeat("x", 5000)) + `"`,
}

func (g *gen) junkString() string {
	if g.chance(4) && g.i < len(g.data) { // a slice of the fuzzed bytes themselves
		n := g.intn(24)
		end := min(g.i+n, len(g.data))
		s := string(g.data[g.i:end])
		g.i = end
		return s
	}
	return junkStrings[g.intn(len(junkStrings))]
}

func (g *gen) junkValue() any {
	if g.chance(2) {
		return g.junkString()
	}
	return junkJSON[g.intn(len(junkJSON))]
}

// idFor picks an ID for a parameter or field named name: mostly one of the
// world's, sometimes a stranger's or junk.
func (w *fuzzWorld) idFor(g *gen, name, path string) string {
	if g.junky() {
		switch g.intn(3) {
		case 0:
			return uuid.NewString()
		case 1:
			return w.other.String() // another client's: 403 or 404
		}
		return g.junkString()
	}
	var pool []string
	switch {
	case name == "client_id":
		return w.client.String()
	case name == "campaign_id" || strings.HasPrefix(path, "/v1/campaigns"):
		pool = w.campaignIDs
	case strings.HasPrefix(path, "/v1/syncs"):
		pool = w.syncIDs
	case strings.HasPrefix(path, "/v1/leads"):
		pool = w.leadIDs
	case strings.HasPrefix(path, "/v1/tasks"):
		pool = w.taskIDs
	default:
		pool = slices.Concat(w.clientIDs, w.campaignIDs, w.syncIDs, w.leadIDs)
	}
	return pool[g.intn(len(pool))]
}

// scalar builds a value for a string, integer, number or boolean schema.
func (w *fuzzWorld) scalar(g *gen, s *openapi3.Schema, name, path string) any {
	if len(s.Enum) > 0 && !g.junky() {
		return s.Enum[g.intn(len(s.Enum))]
	}
	switch {
	case s.Type.Is("integer"), s.Type.Is("number"):
		lo, hi := -5.0, 1000.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		if g.junky() {
			switch g.intn(3) {
			case 0:
				return int64(hi) + 1
			case 1:
				return int64(lo) - 1
			default:
				return junkNumbers[g.intn(len(junkNumbers))]
			}
		}
		switch name {
		case "icp_min":
			return int64(lo) + int64(g.intn(20))
		case "icp_max":
			return int64(hi) - int64(g.intn(20))
		}
		switch g.intn(4) {
		case 0:
			return int64(lo)
		case 1:
			return int64(hi)
		default:
			return int64(lo) + int64(g.intn(int(min(hi-lo+1, 250))))
		}
	case s.Type.Is("boolean"):
		return g.chance(2)
	}
	switch s.Format {
	case "uuid":
		return w.idFor(g, name, path)
	case "date-time":
		switch name {
		case "created_after":
			return time.Now().Add(-time.Duration(g.intn(100)+1) * time.Hour).UTC().Format(time.RFC3339)
		case "created_before":
			return time.Now().Add(time.Duration(g.intn(100)+1) * time.Hour).UTC().Format(time.RFC3339)
		}
		return time.Now().Add(time.Duration(g.intn(100)+1) * time.Hour).UTC().Format(time.RFC3339Nano)
	case "uri":
		return []string{"https://calendly.com/acme", "https://hooks.example.com/alert", "ftp://x", "https://calendly.com.evil.io/x"}[g.intn(4)]
	case "email":
		return "ops@example.com"
	}
	switch name {
	case "name", "campaign_name":
		return w.names[g.intn(len(w.names))]
	case "timezone":
		return []string{"UTC", "America/New_York", "Mars/Olympus"}[g.intn(3)]
	case "airtable_base_id":
		return "appABCDEFGHIJKLMN"
	case "body":
		return "Hi {{first_name}}, book at https://calendly.com/acme"
	case "tag":
		return []string{"vip", "webinar-2025", "cold"}[g.intn(3)]
	case "cursor":
		return store.LeadCursor{CreatedAt: time.Now().Add(-time.Duration(g.intn(100)) * time.Minute), ID: uuid.New()}.Encode()
	}
	if s.Pattern != "" {
		return "appABCDEFGHIJKLMN"
	}
	return []string{"vip", "patients overdue for a cleaning", "book a cleaning", "friendly"}[g.intn(4)]
}

// value builds a JSON value for schema s, sometimes junk instead.
func (w *fuzzWorld) value(g *gen, s *openapi3.Schema, name, path string, depth int) any {
	if s == nil || depth > 6 || depth > 0 && g.junky() {
		return g.junkValue()
	}
	switch {
	case s.Type.Is("object"):
		var obj []member
		keys := make([]string, 0, len(s.Properties))
		for k := range s.Properties {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.Contains(s.Required, k) && g.chance(4) {
				continue
			}
			obj = append(obj, member{k, w.value(g, s.Properties[k].Value, k, path, depth+1)})
		}
		if g.junky() {
			obj = append(obj, member{g.junkString(), g.junkValue()})
		}
		if g.junky() && len(obj) > 0 { // a duplicate member
			obj = append(obj, member{obj[0].key, g.junkValue()})
		}
		return obj
	case s.Type.Is("array"):
		n := max(int(s.MinItems), g.intn(4))
		if s.MaxItems != nil {
			n = min(n, int(*s.MaxItems))
		}
		if g.junky() {
			n = []int{0, 11, 60}[g.intn(3)]
		}
		arr := make([]any, 0, n)
		for range n {
			var item *openapi3.Schema
			if s.Items != nil {
				item = s.Items.Value
			}
			arr = append(arr, w.value(g, item, name, path, depth+1))
		}
		return arr
	}
	return w.scalar(g, s, name, path)
}

// writeJSON encodes v, keeping strings' bytes as they are (invalid UTF-8
// included; encoding/json would replace it).
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case rawJSON:
		b.WriteString(string(x))
	case string:
		b.WriteByte('"')
		for i := 0; i < len(x); i++ {
			switch c := x[i]; {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20:
				fmt.Fprintf(b, `\u%04x`, c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case []member:
		b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, m.key)
			b.WriteByte(':')
			writeJSON(b, m.val)
		}
		b.WriteByte('}')
	default:
		raw, _ := json.Marshal(x)
		b.Write(raw)
	}
}

// fuzzRequest is one generated request, described on failure.
type fuzzRequest struct {
	op      routeOp
	who     string
	path    string
	query   string
	headers http.Header
	body    []byte
}

func (r fuzzRequest) String() string {
	return fmt.Sprintf("%s as %s\n  path %q\n  query %q\n  headers %q\n  body %.600q", r.op.key, r.who, r.path, r.query, r.headers, r.body)
}

// build turns the fuzzed inputs into a request for op.
func (w *fuzzWorld) build(op routeOp, who uint8, rawQuery string, rawBody, choices []byte) fuzzRequest {
	g := newGen(choices)
	req := fuzzRequest{op: op, headers: http.Header{}}
	switch who % 4 {
	case 0:
		req.who = "super_admin"
		req.headers.Set("Authorization", "Bearer "+w.super)
	case 1:
		req.who = "client_admin"
		req.headers.Set("Authorization", "Bearer "+w.admin)
	case 2:
		req.who = "client_viewer"
		req.headers.Set("Authorization", "Bearer "+w.viewer)
	default:
		req.who = "nobody"
		if g.chance(3) {
			req.headers.Set("Authorization", g.junkString())
		}
	}
	path := op.path
	q := url.Values{}
	for _, pr := range op.params {
		p := pr.Value
		var s *openapi3.Schema
		if p.Schema != nil {
			s = p.Schema.Value
		}
		switch p.In {
		case "path":
			v := w.idFor(g, p.Name, op.path)
			path = strings.ReplaceAll(path, "{"+p.Name+"}", v)
		case "query":
			if g.chance(2) {
				continue
			}
			if g.junky() {
				q.Add(p.Name, g.junkString())
			} else {
				q.Add(p.Name, fmt.Sprint(w.plain(w.scalar(g, s, p.Name, op.path))))
			}
			if g.junky() {
				q.Add(p.Name, fmt.Sprint(w.plain(w.scalar(g, s, p.Name, op.path))))
			}
		case "header":
			if g.chance(2) {
				continue
			}
			switch {
			case g.junky():
				req.headers.Set(p.Name, g.junkString())
			case g.junky(): // a key used before: a replay or a conflict
				req.headers.Set(p.Name, "fuzz-"+strconv.Itoa(g.intn(8)))
			default:
				req.headers.Set(p.Name, uuid.NewString())
			}
		}
	}
	if g.junky() {
		q.Add(g.junkString(), g.junkString())
	}
	if g.junky() {
		req.headers.Set(api.HeaderRequestID, g.junkString())
	}
	req.path = path
	raw := w.placeholders.Replace(rawQuery)
	if given, _ := url.ParseQuery(raw); len(given) > 0 {
		for k := range given { // the fuzzed parameters replace the generated ones
			q.Del(k)
		}
	}
	req.query = q.Encode()
	if raw != "" {
		if req.query == "" {
			req.query = raw
		} else {
			req.query += "&" + raw
		}
	}
	switch {
	case op.body != nil && op.body.Type.Is("object") && isObjectText(rawBody):
		// The fuzzed object's members follow the generated ones; as JSON
		// keeps the last of duplicate members, they override them.
		var b bytes.Buffer
		writeJSON(&b, w.value(g, op.body, "body", op.path, 0))
		req.body = mergeObjects(b.Bytes(), []byte(w.placeholders.Replace(string(rawBody))))
	case len(rawBody) > 0:
		req.body = []byte(w.placeholders.Replace(string(rawBody)))
	case op.body != nil:
		if g.junky() && g.chance(2) {
			break // no body at all
		}
		var b bytes.Buffer
		writeJSON(&b, w.value(g, op.body, "body", op.path, 0))
		req.body = b.Bytes()
	case g.junky():
		var b bytes.Buffer
		writeJSON(&b, g.junkValue())
		req.body = b.Bytes()
	}
	return req
}

func isObjectText(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}'
}

// mergeObjects appends the members of the JSON object text b to those of a.
func mergeObjects(a, b []byte) []byte {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if !isObjectText(a) {
		return b
	}
	ai, bi := bytes.TrimSpace(a[1:len(a)-1]), bytes.TrimSpace(b[1:len(b)-1])
	switch {
	case len(bi) == 0:
		return a
	case len(ai) == 0:
		return b
	}
	return slices.Concat([]byte("{"), ai, []byte(","), bi, []byte("}"))
}

// plain turns a generated scalar into query-string text.
func (w *fuzzWorld) plain(v any) any {
	if r, ok := v.(rawJSON); ok {
		return strings.Trim(string(r), `"`)
	}
	return v
}

func (w *fuzzWorld) pickOp(name string) routeOp {
	for _, op := range w.ops {
		if op.key == name {
			return op
		}
	}
	h := fnv.New32a()
	_, _ = io.WriteString(h, name)
	return w.ops[int(h.Sum32()%uint32(len(w.ops)))]
}

type fuzzEnvelope struct {
	Error *struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

var envelopeCodes = []string{api.CodeUnauthenticated, api.CodeForbidden, api.CodeNotFound, api.CodeMethodNotAllowed, api.CodeInvalidInput,
	api.CodePayloadTooLarge, api.CodeDuplicateName, api.CodeConflict, api.CodeIdempotencyConflict, api.CodeRateLimited, api.CodeUnavailable, api.CodeInternal}

// check sends req through the router and asserts the API's promises: no
// 5xx; every non-2xx is the error envelope carrying the X-Request-ID
// header's value; every 400 names a field; a viewer or an anonymous caller
// never changes anything.
func (w *fuzzWorld) check(t *testing.T, req fuzzRequest) {
	t.Helper()
	target := req.path
	hr := httptest.NewRequest(req.op.method, "/", bytes.NewReader(req.body))
	hr.URL.Path, hr.URL.RawQuery, hr.RequestURI = target, req.query, ""
	for k, v := range req.headers {
		hr.Header[k] = v
	}
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hr = hr.WithContext(ctx)
	rec := httptest.NewRecorder()
	w.router.ServeHTTP(rec, hr)
	status, body := rec.Code, rec.Body.Bytes()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("%s\n%s\n-> %d %.800s", fmt.Sprintf(format, a...), req, status, body)
	}
	if status >= 500 {
		fail("server error")
	}
	if status < 200 || status >= 300 {
		var env fuzzEnvelope
		if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
			fail("non-2xx without the error envelope (%v)", err)
		}
		e := env.Error
		if !slices.Contains(envelopeCodes, e.Code) || e.Message == "" {
			fail("envelope code %q message %q", e.Code, e.Message)
		}
		if hdr := rec.Header().Get(api.HeaderRequestID); e.RequestID == "" || e.RequestID != hdr {
			fail("request_id %q, X-Request-ID header %q", e.RequestID, hdr)
		}
		if status == http.StatusBadRequest {
			if f, _ := e.Details["field"].(string); f == "" {
				fail("400 without details.field")
			}
		}
		return
	}
	if req.op.method != http.MethodGet && req.op.bearer && (req.who == "client_viewer" || req.who == "nobody") {
		fail("%s changed something", req.who)
	}
	if req.op.bearer && req.who == "nobody" {
		fail("an unauthenticated request succeeded")
	}
	if ct := rec.Header().Get("Content-Type"); strings.HasPrefix(ct, "application/json") && !json.Valid(body) {
		fail("2xx with a body that is not JSON")
	}
}

// FuzzEveryRoute sends requests built from fuzzed bytes to every operation
// of openapi.yaml, through the real router, store and Temporal: path
// parameters, the declared query parameters plus junk keys, headers, and
// JSON bodies generated from the schema with junk (NUL, invalid UTF-8,
// surrogate escapes, huge numbers, wrong types, deep nesting) mixed in,
// as a super_admin, a client_admin, a client_viewer and nobody.
func FuzzEveryRoute(f *testing.F) {
	w := newFuzzWorld(f)
	// The two inputs a review found answering 500 (SQLSTATE 22021, 22P05).
	f.Add("GET /v1/leads", uint8(0), "tag=%00", []byte(nil), []byte(nil))
	f.Add("GET /v1/leads", uint8(2), "tag=%00", []byte(nil), []byte(nil))
	f.Add("POST /v1/campaigns", uint8(1), "", []byte(`{"name":"Seed NUL","target_tags":["vip"],"messages":[{"body":"\u0000","delay_minutes":0}]}`), []byte(nil))
	f.Add("POST /v1/campaigns", uint8(0), "", []byte(`{"client_id":"$client","name":"Seed NUL","target_tags":["vip"],"messages":[{"body":"Hi","delay_minutes":0},{"body":"\u0000"}]}`), []byte(nil))
	// Every operation, plain as a super_admin and as a viewer, with junk as
	// a client_admin; for a JSON body, each property alone with a value of
	// each junk class (the fuzzed members override the generated, valid
	// rest of the body).
	for i, op := range w.ops {
		f.Add(op.key, uint8(0), "", []byte(nil), []byte(nil))
		f.Add(op.key, uint8(2), "", []byte(nil), []byte(nil))
		f.Add(op.key, uint8(1), "", []byte(nil), []byte{1, byte(i), 3, 2, 8, 5, 255, 17, 6, 1, 12, 4})
		if op.body == nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(op.body.Properties)) {
			valid := w.value(newGen(nil), op.body.Properties[k].Value, k, op.path, 1)
			for _, v := range append([]any{valid}, propertyJunk...) {
				var b bytes.Buffer
				writeJSON(&b, []member{{k, v}})
				f.Add(op.key, uint8(1), "", b.Bytes(), []byte(nil))
			}
		}
	}
	f.Fuzz(func(t *testing.T, op string, who uint8, query string, body, choices []byte) {
		w.check(t, w.build(w.pickOp(op), who, query, body, choices))
	})
}
