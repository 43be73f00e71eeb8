package airtableemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Handler returns the HTTP handler serving the API under /v0/ and the admin
// API under /_emulator/.
func (e *Emulator) Handler() http.Handler {
	e.handlerOnce.Do(func() {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v0/meta/bases", e.handleMetaBases)
		mux.HandleFunc("GET /v0/meta/bases/{base}/tables", e.handleMetaTables)
		mux.HandleFunc("GET /v0/{base}/{table}", e.handleList)
		mux.HandleFunc("POST /v0/{base}/{table}/listRecords", e.handleListPost)
		mux.HandleFunc("POST /v0/{base}/{table}", e.handleCreate)
		mux.HandleFunc("PATCH /v0/{base}/{table}", e.handleUpdate)
		mux.HandleFunc("PUT /v0/{base}/{table}", e.handleUpdate)
		mux.HandleFunc("DELETE /v0/{base}/{table}", e.handleDelete)
		mux.HandleFunc("GET /v0/{base}/{table}/{record}", e.handleGet)
		mux.HandleFunc("PATCH /v0/{base}/{table}/{record}", e.handleUpdateOne)
		mux.HandleFunc("PUT /v0/{base}/{table}/{record}", e.handleUpdateOne)
		mux.HandleFunc("DELETE /v0/{base}/{table}/{record}", e.handleDeleteOne)
		e.registerWebhookAPI(mux)
		mux.HandleFunc("/v0/", func(w http.ResponseWriter, r *http.Request) {
			e.stats.requests.Add(1)
			writeError(w, errNotFound())
		})
		e.registerAdmin(mux)
		e.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The client joins base URL, base and table with "/": a base URL
			// with a trailing slash yields "//". ServeMux would answer with a
			// redirect that turns a PATCH into a GET; Airtable answers 404.
			if strings.Contains(r.URL.Path, "//") {
				writeError(w, errNotFound())
				return
			}
			mux.ServeHTTP(w, r)
		})
	})
	return e.handler
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"type":"SERVER_ERROR","message":"cannot encode response"}}`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, err *apiError) {
	writeJSON(w, err.status, err.body)
}

var (
	errAuth      = typedErr(401, "AUTHENTICATION_REQUIRED", "Authentication required")
	errRateLimit = &apiError{status: 429, body: map[string]any{"errors": []any{
		map[string]string{"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"},
	}}}
)

// authorized checks the bearer token.
func (e *Emulator) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return false
	}
	e.mu.RLock()
	key := e.apiKey
	e.mu.RUnlock()
	return key == "" || token == key
}

// admit runs what every API request to a base goes through: counting,
// authentication, base lookup, injected latency, the rate limit and
// injected request failures. It returns nil after answering the request.
func (e *Emulator) admit(w http.ResponseWriter, r *http.Request, baseID string) *base {
	e.stats.requests.Add(1)
	if !e.authorized(r) {
		e.stats.unauthorized.Add(1)
		writeError(w, errAuth)
		return nil
	}
	b := e.base(baseID)
	if b == nil {
		writeError(w, errNotFound())
		return nil
	}
	b.stats.requests.Add(1)

	b.mu.Lock()
	latency := b.faults.Latency
	b.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return nil
		}
	}

	e.mu.RLock()
	rate, pen := e.rate, e.pen
	e.mu.RUnlock()
	now := e.now()
	b.mu.Lock()
	if !b.lim.allow(now, rate, pen) {
		b.mu.Unlock()
		b.stats.rateLimited.Add(1)
		e.stats.rateLimited.Add(1)
		writeError(w, errRateLimit)
		return nil
	}
	if fn := b.faults.FailNext; fn != nil && fn.Count > 0 {
		fn.Count--
		status := fn.Status
		if fn.Count == 0 {
			b.faults.FailNext = nil
		}
		aerr := e.injected(b, status)
		b.mu.Unlock()
		writeError(w, aerr)
		return nil
	}
	b.mu.Unlock()
	return b
}

func errTableNotFound(table, baseID string) *apiError {
	return typedErr(404, "NOT_FOUND", fmt.Sprintf("Could not find table %s in application %s", table, baseID))
}

func (e *Emulator) handleList(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	q, aerr := parseListQuery(r.URL.Query())
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	e.serveList(w, b, r.PathValue("table"), q)
}

// handleListPost serves POST …/listRecords, the body form of list records.
func (e *Emulator) handleListPost(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	var body struct {
		PageSize              *int       `json:"pageSize"`
		MaxRecords            int        `json:"maxRecords"`
		Offset                string     `json:"offset"`
		Fields                []string   `json:"fields"`
		FilterByFormula       string     `json:"filterByFormula"`
		ReturnFieldsByFieldID bool       `json:"returnFieldsByFieldId"`
		Sort                  []sortJSON `json:"sort"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	q := listQuery{pageSize: MaxPageSize, offset: body.Offset, fields: body.Fields, formula: body.FilterByFormula,
		maxRecords: body.MaxRecords, byFieldID: body.ReturnFieldsByFieldID}
	if body.PageSize != nil {
		if *body.PageSize < 1 || *body.PageSize > MaxPageSize {
			writeError(w, errInvalidRequest())
			return
		}
		q.pageSize = *body.PageSize
	}
	if body.MaxRecords < 0 {
		writeError(w, errInvalidRequest())
		return
	}
	for _, s := range body.Sort {
		if s.Field == "" || (s.Direction != "" && s.Direction != "asc" && s.Direction != "desc") {
			writeError(w, errInvalidRequest())
			return
		}
		q.sorts = append(q.sorts, sortSpec{field: s.Field, desc: s.Direction == "desc"})
	}
	e.serveList(w, b, r.PathValue("table"), q)
}

type sortJSON struct {
	Field     string `json:"field"`
	Direction string `json:"direction"`
}

func (e *Emulator) serveList(w http.ResponseWriter, b *base, tableName string, q listQuery) {
	e.mu.RLock()
	ttl := e.ttl
	e.mu.RUnlock()
	now := e.now()
	b.mu.Lock()
	t := b.table(tableName)
	if t == nil {
		b.mu.Unlock()
		writeError(w, errTableNotFound(tableName, b.id))
		return
	}
	pg, aerr := e.list(b, t, q, now, ttl)
	b.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	buf := make([]byte, 0, 256*len(pg.recs)+64)
	buf = append(buf, `{"records":[`...)
	for i, rv := range pg.recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendRecord(buf, pg.cols, pg.proj, rv, pg.byID, pg.asString)
	}
	buf = append(buf, ']')
	if pg.offset != "" {
		buf = append(buf, `,"offset":`...)
		buf = appendString(buf, pg.offset)
	}
	buf = append(buf, '}')
	writeRaw(w, http.StatusOK, buf)
}

func (e *Emulator) handleGet(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	tableName, id := r.PathValue("table"), r.PathValue("record")
	b.mu.Lock()
	t := b.table(tableName)
	if t == nil {
		b.mu.Unlock()
		writeError(w, errTableNotFound(tableName, b.id))
		return
	}
	rec := t.index[id]
	if rec == nil {
		b.mu.Unlock()
		writeError(w, errNotFound())
		return
	}
	rv, cols := recView{rec.id, rec.created, rec.vals}, t.cols
	b.mu.Unlock()
	writeRaw(w, http.StatusOK, appendRecord(nil, cols, nil, rv, r.URL.Query().Get("returnFieldsByFieldId") == "true", false))
}

// writeBody is the body of create and update requests.
type writeBody struct {
	Records               []writeRecord  `json:"records"`
	Fields                map[string]any `json:"fields"`
	Typecast              bool           `json:"typecast"`
	ReturnFieldsByFieldID bool           `json:"returnFieldsByFieldId"`
	PerformUpsert         *struct {
		FieldsToMergeOn []string `json:"fieldsToMergeOn"`
	} `json:"performUpsert"`
}

type writeRecord struct {
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields"`
}

func decodeBody(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 16<<20))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return typedErr(413, "REQUEST_TOO_LARGE", "Request body is too large")
		}
		return typedErr(400, "INVALID_REQUEST_BODY", "The request body could not be parsed as JSON")
	}
	return nil
}

func errMissingField(name string) *apiError {
	return typedErr(422, "INVALID_REQUEST_MISSING_FIELDS", fmt.Sprintf("Could not find field %q in the request body", name))
}

func errTooMany(verb string, n int) *apiError {
	return typedErr(422, "INVALID_RECORDS",
		fmt.Sprintf("A maximum of %d records can be %s per request but you have provided %d.", MaxWriteRecords, verb, n))
}

// written collects the records a write returns, encoded outside the lock.
type written struct {
	cols    []*column
	recs    []recView
	created []string
	updated []string
	upsert  bool
}

func (wr *written) encode(byID bool, single bool) []byte {
	if single && len(wr.recs) == 1 {
		return appendRecord(nil, wr.cols, nil, wr.recs[0], byID, false)
	}
	buf := []byte(`{"records":[`)
	for i, rv := range wr.recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendRecord(buf, wr.cols, nil, rv, byID, false)
	}
	buf = append(buf, ']')
	if wr.upsert {
		c, _ := json.Marshal(nonNil(wr.created))
		u, _ := json.Marshal(nonNil(wr.updated))
		buf = append(buf, `,"createdRecords":`...)
		buf = append(buf, c...)
		buf = append(buf, `,"updatedRecords":`...)
		buf = append(buf, u...)
	}
	return append(buf, '}')
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (e *Emulator) handleCreate(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	var body writeBody
	if aerr := decodeBody(r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	single := false
	if body.Records == nil {
		if body.Fields == nil {
			writeError(w, errMissingField("records"))
			return
		}
		single = true
		body.Records = []writeRecord{{Fields: body.Fields}}
	}
	if len(body.Records) > MaxWriteRecords {
		writeError(w, errTooMany("created", len(body.Records)))
		return
	}
	if len(body.Records) == 0 {
		writeError(w, typedErr(422, "INVALID_RECORDS", "You must provide an array of up to 10 record objects, each with a \"fields\" object."))
		return
	}
	now := e.now()
	b.mu.Lock()
	wr, aerr := e.create(b, r.PathValue("table"), body.Records, body.Typecast, now)
	b.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeRaw(w, http.StatusOK, wr.encode(body.ReturnFieldsByFieldID, single))
}

// create inserts records atomically. The caller holds b.mu.
func (e *Emulator) create(b *base, tableName string, recs []writeRecord, typecast bool, now time.Time) (*written, *apiError) {
	t := b.table(tableName)
	if t == nil {
		return nil, errTableNotFound(tableName, b.id)
	}
	vals := make([][]any, len(recs))
	var allAdded []map[int][]string
	for i, in := range recs {
		if in.Fields == nil {
			return nil, typedErr(422, "INVALID_RECORDS", "You must provide an array of up to 10 record objects, each with a \"fields\" object.")
		}
		v, added, aerr := t.buildVals(nil, in.Fields, typecast, false)
		if aerr != nil {
			return nil, aerr
		}
		vals[i] = v
		allAdded = append(allAdded, added)
	}
	for _, a := range allAdded {
		t.addOptions(a)
	}
	wr := &written{}
	created := now.UTC().Truncate(time.Millisecond)
	var changes []recordChange
	defer func() { e.emit(b, t, changes) }()
	for _, v := range vals {
		id := e.newID("rec")
		for b.hasRecord(id) {
			id = e.newID("rec")
		}
		rec := &record{id: id, created: created, vals: v}
		t.insert(rec)
		changes = append(changes, recordChange{rec: rec})
		wr.recs = append(wr.recs, recView{rec.id, rec.created, rec.vals})
		wr.created = append(wr.created, id)
	}
	wr.cols = t.cols[:len(t.cols):len(t.cols)]
	b.stats.created.Add(int64(len(vals)))
	e.stats.created.Add(int64(len(vals)))
	return wr, nil
}

func (e *Emulator) handleUpdate(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	var body writeBody
	if aerr := decodeBody(r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	if body.Records == nil {
		writeError(w, errMissingField("records"))
		return
	}
	if len(body.Records) > MaxWriteRecords {
		writeError(w, errTooMany("updated", len(body.Records)))
		return
	}
	if len(body.Records) == 0 {
		writeError(w, typedErr(422, "INVALID_RECORDS", "You must provide an array of up to 10 record objects, each with an \"id\" string and a \"fields\" object."))
		return
	}
	var merge []string
	if body.PerformUpsert != nil {
		merge = body.PerformUpsert.FieldsToMergeOn
		if len(merge) == 0 || len(merge) > 3 {
			writeError(w, typedErr(422, "INVALID_REQUEST_UNKNOWN", "performUpsert.fieldsToMergeOn must list 1 to 3 fields"))
			return
		}
	}
	now := e.now()
	b.mu.Lock()
	wr, aerr := e.update(b, r.PathValue("table"), body.Records, body.Typecast, r.Method == http.MethodPut, merge, now)
	b.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeRaw(w, http.StatusOK, wr.encode(body.ReturnFieldsByFieldID, false))
}

func (e *Emulator) handleUpdateOne(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	var body writeBody
	if aerr := decodeBody(r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	if body.Fields == nil {
		writeError(w, errMissingField("fields"))
		return
	}
	id := r.PathValue("record")
	now := e.now()
	b.mu.Lock()
	if t := b.table(r.PathValue("table")); t != nil && t.index[id] == nil {
		b.mu.Unlock()
		writeError(w, errNotFound())
		return
	}
	wr, aerr := e.update(b, r.PathValue("table"), []writeRecord{{ID: id, Fields: body.Fields}}, body.Typecast,
		r.Method == http.MethodPut, nil, now)
	b.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeRaw(w, http.StatusOK, wr.encode(body.ReturnFieldsByFieldID, true))
}

// update applies PATCH (merge) or PUT (replace) atomically, with upsert when
// merge names the fields to match on. The caller holds b.mu.
func (e *Emulator) update(b *base, tableName string, recs []writeRecord, typecast, replace bool, merge []string, now time.Time) (*written, *apiError) {
	t := b.table(tableName)
	if t == nil {
		return nil, errTableNotFound(tableName, b.id)
	}
	for _, f := range merge {
		if _, ok := t.colIdx[f]; !ok && t.strict {
			return nil, errUnknownField(f)
		}
	}
	type change struct {
		rec  *record // nil: create
		vals []any
	}
	changes := make([]change, len(recs))
	var allAdded []map[int][]string
	seen := map[*record]bool{}
	for i, in := range recs {
		if in.Fields == nil {
			return nil, typedErr(422, "INVALID_RECORDS", "You must provide an array of up to 10 record objects, each with an \"id\" string and a \"fields\" object.")
		}
		var rec *record
		switch {
		case in.ID != "":
			rec = t.index[in.ID]
			if rec == nil {
				return nil, typedErr(422, "ROW_DOES_NOT_EXIST", fmt.Sprintf("Record ID %s does not exist in this table", in.ID))
			}
		case merge != nil:
			var aerr *apiError
			if rec, aerr = t.findByMerge(in.Fields, merge); aerr != nil {
				return nil, aerr
			}
		default:
			return nil, typedErr(422, "INVALID_RECORDS", fmt.Sprintf("Record at index %d is missing an \"id\"", i))
		}
		if rec != nil && seen[rec] {
			return nil, typedErr(422, "INVALID_RECORDS", fmt.Sprintf("Record %s appears more than once in the request", rec.id))
		}
		seen[rec] = rec != nil
		var old []any
		if rec != nil {
			old = rec.vals
		}
		v, added, aerr := t.buildVals(old, in.Fields, typecast, replace || rec == nil)
		if aerr != nil {
			return nil, aerr
		}
		changes[i] = change{rec: rec, vals: v}
		allAdded = append(allAdded, added)
	}
	for _, a := range allAdded {
		t.addOptions(a)
	}
	wr := &written{upsert: merge != nil}
	var nCreated, nUpdated int64
	hookChanges := make([]recordChange, 0, len(changes))
	defer func() { e.emit(b, t, hookChanges) }()
	for _, c := range changes {
		if c.rec == nil {
			id := e.newID("rec")
			for b.hasRecord(id) {
				id = e.newID("rec")
			}
			c.rec = &record{id: id, created: now.UTC().Truncate(time.Millisecond), vals: c.vals}
			t.insert(c.rec)
			wr.created = append(wr.created, id)
			nCreated++
			hookChanges = append(hookChanges, recordChange{rec: c.rec})
		} else {
			hookChanges = append(hookChanges, recordChange{rec: c.rec, old: c.rec.vals})
			c.rec.vals = c.vals
			wr.updated = append(wr.updated, c.rec.id)
			nUpdated++
		}
		wr.recs = append(wr.recs, recView{c.rec.id, c.rec.created, c.rec.vals})
	}
	wr.cols = t.cols[:len(t.cols):len(t.cols)]
	b.stats.created.Add(nCreated)
	e.stats.created.Add(nCreated)
	b.stats.updated.Add(nUpdated)
	e.stats.updated.Add(nUpdated)
	return wr, nil
}

// findByMerge finds the record an upsert updates: the one whose merge
// fields equal the given values. More than one match is an error.
func (t *table) findByMerge(fields map[string]any, merge []string) (*record, *apiError) {
	want := make([]string, len(merge))
	for i, f := range merge {
		v, ok := fields[f]
		if !ok {
			return nil, typedErr(422, "INVALID_VALUE_FOR_COLUMN", fmt.Sprintf("Field %q is used in fieldsToMergeOn but missing from the record", f))
		}
		n, _ := normalizeValue(v)
		want[i] = formatValue(n)
	}
	var found *record
	for _, r := range t.recs {
		if r.deleted {
			continue
		}
		ok := true
		for i, f := range merge {
			if formatValue(t.value(r, f)) != want[i] {
				ok = false
				break
			}
		}
		if ok {
			if found != nil {
				return nil, typedErr(422, "INVALID_RECORDS", "Cannot update more than one record with the same fieldsToMergeOn values")
			}
			found = r
		}
	}
	return found, nil
}

func (e *Emulator) handleDelete(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	var ids []string
	for key, vals := range r.URL.Query() {
		if key == "records[]" || key == "records" || strings.HasPrefix(key, "records[") {
			ids = append(ids, vals...)
		}
	}
	if len(ids) == 0 {
		writeError(w, errMissingField("records"))
		return
	}
	if len(ids) > MaxWriteRecords {
		writeError(w, errTooMany("deleted", len(ids)))
		return
	}
	b.mu.Lock()
	out, aerr := e.deleteRecords(b, r.PathValue("table"), ids)
	b.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": out})
}

func (e *Emulator) handleDeleteOne(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	b.mu.Lock()
	out, aerr := e.deleteRecords(b, r.PathValue("table"), []string{r.PathValue("record")})
	b.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, out[0])
}

type deletedRecord struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// deleteRecords deletes atomically: every ID must exist. The caller holds b.mu.
func (e *Emulator) deleteRecords(b *base, tableName string, ids []string) ([]deletedRecord, *apiError) {
	t := b.table(tableName)
	if t == nil {
		return nil, errTableNotFound(tableName, b.id)
	}
	for i, id := range ids {
		if t.index[id] == nil || slices.Contains(ids[:i], id) {
			return nil, typedErr(404, "MODEL_ID_NOT_FOUND", fmt.Sprintf("Could not find record %s", id))
		}
	}
	out := make([]deletedRecord, len(ids))
	changes := make([]recordChange, 0, len(ids))
	defer func() { e.emit(b, t, changes) }()
	for i, id := range ids {
		changes = append(changes, recordChange{rec: t.index[id], deleted: true})
		t.remove(id)
		out[i] = deletedRecord{ID: id, Deleted: true}
	}
	b.stats.deleted.Add(int64(len(ids)))
	e.stats.deleted.Add(int64(len(ids)))
	return out, nil
}

func (e *Emulator) handleMetaBases(w http.ResponseWriter, r *http.Request) {
	e.stats.requests.Add(1)
	if !e.authorized(r) {
		e.stats.unauthorized.Add(1)
		writeError(w, errAuth)
		return
	}
	type baseJSON struct {
		ID              string `json:"id"`
		Name            string `json:"name"`
		PermissionLevel string `json:"permissionLevel"`
	}
	out := []baseJSON{}
	for _, bi := range e.Bases() {
		out = append(out, baseJSON{ID: bi.ID, Name: bi.Name, PermissionLevel: "create"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"bases": out})
}

func (e *Emulator) handleMetaTables(w http.ResponseWriter, r *http.Request) {
	b := e.admit(w, r, r.PathValue("base"))
	if b == nil {
		return
	}
	type fieldJSON struct {
		ID      string         `json:"id"`
		Name    string         `json:"name"`
		Type    string         `json:"type"`
		Options map[string]any `json:"options,omitempty"`
	}
	type viewJSON struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
	}
	type tableJSON struct {
		ID             string      `json:"id"`
		Name           string      `json:"name"`
		PrimaryFieldID string      `json:"primaryFieldId"`
		Fields         []fieldJSON `json:"fields"`
		Views          []viewJSON  `json:"views"`
	}
	b.mu.Lock()
	out := make([]tableJSON, 0, len(b.tables))
	for _, t := range b.tables {
		tj := tableJSON{ID: t.id, Name: t.name, Fields: []fieldJSON{},
			Views: []viewJSON{{ID: "viw" + t.id[3:], Name: "Grid view", Type: "grid"}}}
		for _, c := range t.cols {
			typ := c.typ
			if typ == "" {
				typ = TypeSingleLineText
			}
			fj := fieldJSON{ID: c.id, Name: c.name, Type: string(typ)}
			if typ == TypeSingleSelect || typ == TypeMultipleSelects {
				choices := make([]map[string]string, len(c.options))
				for i, o := range c.options {
					choices[i] = map[string]string{"name": o}
				}
				fj.Options = map[string]any{"choices": choices}
			}
			tj.Fields = append(tj.Fields, fj)
		}
		if len(t.cols) > 0 {
			tj.PrimaryFieldID = t.cols[0].id
		}
		out = append(out, tj)
	}
	b.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"tables": out})
}
