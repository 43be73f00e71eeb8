package airtableemu

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults that match Airtable's documented behaviour.
const (
	DefaultRateLimit = 5                // requests per second per base
	DefaultPenalty   = 30 * time.Second // wait imposed after a 429
	DefaultOffsetTTL = 5 * time.Minute  // inactivity after which a list offset expires
	MaxPageSize      = 100
	MaxWriteRecords  = 10
)

// Options configures an Emulator. The zero value is usable: any non-empty API
// key, no rate limit, 30 s penalty, 5 min offset TTL. DefaultOptions adds
// Airtable's 5 requests/s limit.
type Options struct {
	// APIKey, when set, is the only bearer token accepted. Empty: any
	// non-empty token is accepted.
	APIKey string
	// RateLimit is the number of API requests per second allowed per base;
	// 0 disables rate limiting.
	RateLimit int
	// Penalty is how long a base answers 429 after exceeding RateLimit
	// (default 30 s).
	Penalty time.Duration
	// OffsetTTL is how long a list offset stays valid after its page was
	// served (default 5 min).
	OffsetTTL time.Duration
	// Seed seeds the generator of record, table and iterator IDs; 0 picks a
	// random seed.
	Seed uint64
	// Now replaces the clock (createdTime, offsets, rate limit); nil uses
	// time.Now.
	Now func() time.Time
}

// DefaultOptions returns the options that mimic Airtable: 5 requests/s per
// base, 30 s penalty, 5 min offset TTL.
func DefaultOptions() Options {
	return Options{RateLimit: DefaultRateLimit, Penalty: DefaultPenalty, OffsetTTL: DefaultOffsetTTL}
}

// Emulator is an in-memory Airtable. All methods are safe for concurrent use.
type Emulator struct {
	mu     sync.RWMutex
	bases  map[string]*base
	order  []string // base IDs in creation order
	apiKey string
	rate   int
	pen    time.Duration
	ttl    time.Duration

	now func() time.Time

	rngMu sync.Mutex
	rng   *rand.Rand

	stats counters

	handlerOnce sync.Once
	handler     http.Handler
}

// counters are the request statistics of the emulator or of one base.
type counters struct {
	requests, rateLimited, unauthorized, injected, iteratorErrors atomic.Int64
	listRequests, recordsListed, created, updated, deleted        atomic.Int64
}

func (c *counters) snapshot() BaseStats {
	return BaseStats{
		Requests:         c.requests.Load(),
		RateLimited:      c.rateLimited.Load(),
		Unauthorized:     c.unauthorized.Load(),
		InjectedFailures: c.injected.Load(),
		IteratorErrors:   c.iteratorErrors.Load(),
		ListRequests:     c.listRequests.Load(),
		RecordsListed:    c.recordsListed.Load(),
		RecordsCreated:   c.created.Load(),
		RecordsUpdated:   c.updated.Load(),
		RecordsDeleted:   c.deleted.Load(),
	}
}

func (c *counters) reset() {
	for _, a := range []*atomic.Int64{&c.requests, &c.rateLimited, &c.unauthorized, &c.injected,
		&c.iteratorErrors, &c.listRequests, &c.recordsListed, &c.created, &c.updated, &c.deleted} {
		a.Store(0)
	}
}

// BaseStats counts API requests (the /v0 API, not the admin API).
type BaseStats struct {
	Requests         int64 `json:"requests"`
	RateLimited      int64 `json:"rateLimited"` // 429 answers
	Unauthorized     int64 `json:"unauthorized"`
	InjectedFailures int64 `json:"injectedFailures"` // 5xx answers from faults
	IteratorErrors   int64 `json:"iteratorErrors"`   // LIST_RECORDS_ITERATOR_NOT_AVAILABLE answers
	ListRequests     int64 `json:"listRequests"`
	RecordsListed    int64 `json:"recordsListed"`
	RecordsCreated   int64 `json:"recordsCreated"`
	RecordsUpdated   int64 `json:"recordsUpdated"`
	RecordsDeleted   int64 `json:"recordsDeleted"`
}

// Stats are the emulator's totals and the counters of each existing base.
type Stats struct {
	BaseStats
	Bases map[string]BaseStats `json:"bases"`
}

// New returns an empty emulator.
func New(opts Options) *Emulator {
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	e := &Emulator{
		bases:  map[string]*base{},
		apiKey: opts.APIKey,
		now:    opts.Now,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.SetRateLimit(opts.RateLimit)
	e.SetPenalty(opts.Penalty)
	e.SetOffsetTTL(opts.OffsetTTL)
	return e
}

// SetRateLimit sets the requests per second allowed per base; 0 (or less)
// disables the limit.
func (e *Emulator) SetRateLimit(n int) {
	e.mu.Lock()
	e.rate = max(n, 0)
	e.mu.Unlock()
}

// SetPenalty sets how long a base stays rate limited after a 429; 0 restores
// the default of 30 s.
func (e *Emulator) SetPenalty(d time.Duration) {
	if d <= 0 {
		d = DefaultPenalty
	}
	e.mu.Lock()
	e.pen = d
	e.mu.Unlock()
}

// SetOffsetTTL sets how long a list offset stays valid after its last use; 0
// restores the default of 5 min.
func (e *Emulator) SetOffsetTTL(d time.Duration) {
	if d <= 0 {
		d = DefaultOffsetTTL
	}
	e.mu.Lock()
	e.ttl = d
	e.mu.Unlock()
}

// SetAPIKey makes key the only accepted token; "" accepts any non-empty token.
func (e *Emulator) SetAPIKey(key string) {
	e.mu.Lock()
	e.apiKey = key
	e.mu.Unlock()
}

// Settings are the emulator-wide settings.
type Settings struct {
	RateLimit int           `json:"rateLimit"`
	Penalty   time.Duration `json:"-"`
	OffsetTTL time.Duration `json:"-"`
	APIKeySet bool          `json:"apiKeySet"`
}

// Settings returns the current emulator-wide settings.
func (e *Emulator) Settings() Settings {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return Settings{RateLimit: e.rate, Penalty: e.pen, OffsetTTL: e.ttl, APIKeySet: e.apiKey != ""}
}

// Stats returns the request counters.
func (e *Emulator) Stats() Stats {
	s := Stats{BaseStats: e.stats.snapshot(), Bases: map[string]BaseStats{}}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for id, b := range e.bases {
		s.Bases[id] = b.stats.snapshot()
	}
	return s
}

// ResetStats zeroes every counter.
func (e *Emulator) ResetStats() {
	e.stats.reset()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, b := range e.bases {
		b.stats.reset()
	}
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var (
	baseIDRe   = regexp.MustCompile(`^app[A-Za-z0-9]{14}$`)
	recordIDRe = regexp.MustCompile(`^rec[A-Za-z0-9]{14}$`)
)

// IsBaseID reports whether s has the shape of an Airtable base ID.
func IsBaseID(s string) bool { return baseIDRe.MatchString(s) }

// IsRecordID reports whether s has the shape of an Airtable record ID.
func IsRecordID(s string) bool { return recordIDRe.MatchString(s) }

// newID returns prefix + 14 random alphanumerics, Airtable's ID shape.
func (e *Emulator) newID(prefix string) string {
	var b [17]byte
	copy(b[:], prefix)
	e.rngMu.Lock()
	x := e.rng.Uint64()
	y := e.rng.Uint64()
	e.rngMu.Unlock()
	for i := 3; i < 17; i++ {
		if i == 10 {
			x = y
		}
		b[i] = idAlphabet[x%uint64(len(idAlphabet))]
		x /= uint64(len(idAlphabet))
	}
	return string(b[:])
}

// ErrNotFound is returned by the Go API for an unknown base, table or record.
var ErrNotFound = errors.New("airtableemu: not found")

// BaseInfo describes a base.
type BaseInfo struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Tables []TableInfo `json:"tables"`
}

// TableInfo describes a table.
type TableInfo struct {
	ID      string      `json:"id"`
	Name    string      `json:"name"`
	Fields  []FieldSpec `json:"fields,omitempty"`
	Records int         `json:"records"`
}

// CreateBase creates a base with the given tables. An empty id is replaced by
// a random app… ID; an empty name by the ID. It fails if the ID is malformed
// or taken.
func (e *Emulator) CreateBase(id, name string, tables ...TableSpec) (string, error) {
	if id == "" {
		id = e.newID("app")
	}
	if !IsBaseID(id) {
		return "", fmt.Errorf("airtableemu: base ID %q must match app + 14 letters or digits", id)
	}
	if name == "" {
		name = id
	}
	b := &base{id: id, name: name, byName: map[string]*table{}, byID: map[string]*table{}, iters: map[string]*iterator{}}
	for _, ts := range tables {
		if err := b.addTable(e, ts); err != nil {
			return "", err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.bases[id]; ok {
		return "", fmt.Errorf("airtableemu: base %s already exists", id)
	}
	e.bases[id] = b
	e.order = append(e.order, id)
	return id, nil
}

// DeleteBase removes a base and everything in it; it reports whether it existed.
func (e *Emulator) DeleteBase(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.bases[id]; !ok {
		return false
	}
	delete(e.bases, id)
	e.order = slices.DeleteFunc(e.order, func(s string) bool { return s == id })
	return true
}

// CreateTable adds a table to a base.
func (e *Emulator) CreateTable(baseID string, spec TableSpec) error {
	b := e.base(baseID)
	if b == nil {
		return ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addTable(e, spec)
}

// Bases lists the bases in creation order.
func (e *Emulator) Bases() []BaseInfo {
	e.mu.RLock()
	bs := make([]*base, 0, len(e.order))
	for _, id := range e.order {
		bs = append(bs, e.bases[id])
	}
	e.mu.RUnlock()
	out := make([]BaseInfo, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.info())
	}
	return out
}

// Base describes one base.
func (e *Emulator) Base(id string) (BaseInfo, error) {
	b := e.base(id)
	if b == nil {
		return BaseInfo{}, ErrNotFound
	}
	return b.info(), nil
}

func (e *Emulator) base(id string) *base {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.bases[id]
}

// Record is a record as the Go API sees it.
type Record struct {
	ID          string         `json:"id,omitempty"`
	CreatedTime time.Time      `json:"createdTime,omitzero"`
	Fields      map[string]any `json:"fields"`
}

// SeedFields bulk-inserts records with the given fields, bypassing the API
// (no rate limit, no 10-record cap). Values are typecast as with
// "typecast": true. It returns the new record IDs in order.
func (e *Emulator) SeedFields(baseID, tableName string, fields []map[string]any) ([]string, error) {
	recs := make([]Record, len(fields))
	for i, f := range fields {
		recs[i].Fields = f
	}
	return e.SeedRecords(baseID, tableName, recs)
}

// SeedRecords bulk-inserts records, bypassing the API. A record may carry its
// own ID and createdTime; missing ones are generated (createdTime: now).
// Records are appended in the given order, which is the listing order.
func (e *Emulator) SeedRecords(baseID, tableName string, recs []Record) ([]string, error) {
	b := e.base(baseID)
	if b == nil {
		return nil, ErrNotFound
	}
	now := e.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.table(tableName)
	if t == nil {
		return nil, ErrNotFound
	}
	built := make([]*record, len(recs))
	seen := make(map[string]bool)
	for i, in := range recs {
		vals, added, aerr := t.buildVals(nil, in.Fields, true, false)
		if aerr != nil {
			return nil, fmt.Errorf("airtableemu: record %d: %w", i, aerr)
		}
		t.addOptions(added)
		id := in.ID
		switch {
		case id == "":
			for id == "" || b.hasRecord(id) || seen[id] {
				id = e.newID("rec")
			}
		case !IsRecordID(id):
			return nil, fmt.Errorf("airtableemu: record ID %q must match rec + 14 letters or digits", id)
		case b.hasRecord(id) || seen[id]:
			return nil, fmt.Errorf("airtableemu: record ID %s already exists", id)
		}
		seen[id] = true
		created := in.CreatedTime
		if created.IsZero() {
			created = now
		}
		built[i] = &record{id: id, created: created.UTC().Truncate(time.Millisecond), vals: vals}
	}
	ids := make([]string, len(built))
	t.recs = slices.Grow(t.recs, len(built))
	var changes []recordChange
	if len(b.hooks) > 0 {
		changes = make([]recordChange, 0, len(built))
	}
	for i, r := range built {
		t.insert(r)
		ids[i] = r.id
		if changes != nil {
			changes = append(changes, recordChange{rec: r})
		}
	}
	e.emit(b, t, changes)
	return ids, nil
}

// DeleteRecords deletes records by ID from a table, bypassing the API; with
// no IDs it empties the table. It returns how many records were deleted.
func (e *Emulator) DeleteRecords(baseID, tableName string, ids ...string) (int, error) {
	b := e.base(baseID)
	if b == nil {
		return 0, ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.table(tableName)
	if t == nil {
		return 0, ErrNotFound
	}
	if len(ids) == 0 {
		n := t.live
		var changes []recordChange
		for _, r := range t.recs {
			if !r.deleted && len(b.hooks) > 0 {
				changes = append(changes, recordChange{rec: r, deleted: true})
			}
			r.deleted = true
		}
		e.emit(b, t, changes)
		t.recs = nil
		t.index = map[string]*record{}
		t.live, t.tombstones = 0, 0
		return n, nil
	}
	n := 0
	var changes []recordChange
	for _, id := range ids {
		r := t.index[id]
		if t.remove(id) {
			n++
			changes = append(changes, recordChange{rec: r, deleted: true})
		}
	}
	e.emit(b, t, changes)
	return n, nil
}

// Records returns a copy of every live record of a table in listing order.
func (e *Emulator) Records(baseID, tableName string) ([]Record, error) {
	b := e.base(baseID)
	if b == nil {
		return nil, ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.table(tableName)
	if t == nil {
		return nil, ErrNotFound
	}
	out := make([]Record, 0, t.live)
	for _, r := range t.recs {
		if !r.deleted {
			out = append(out, t.export(r))
		}
	}
	return out, nil
}

// GetRecord returns a copy of one record.
func (e *Emulator) GetRecord(baseID, tableName, id string) (Record, error) {
	b := e.base(baseID)
	if b == nil {
		return Record{}, ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.table(tableName)
	if t == nil {
		return Record{}, ErrNotFound
	}
	r := t.index[id]
	if r == nil {
		return Record{}, ErrNotFound
	}
	return t.export(r), nil
}

// base is one Airtable base: tables, live list iterators, faults, rate limiter.
type base struct {
	mu     sync.Mutex
	id     string
	name   string
	tables []*table
	byName map[string]*table
	byID   map[string]*table
	iters  map[string]*iterator
	// nextSweep is when expired iterators are next looked for.
	nextSweep time.Time
	faults    Faults
	lim       limiter
	stats     counters
	// hooks are the base's webhooks; txn numbers its transactions.
	hooks []*webhook
	txn   int
}

func (b *base) addTable(e *Emulator, ts TableSpec) error {
	if ts.Name == "" {
		return errors.New("airtableemu: table name is empty")
	}
	if b.byName[ts.Name] != nil {
		return fmt.Errorf("airtableemu: table %q already exists in %s", ts.Name, b.id)
	}
	t := &table{id: e.newID("tbl"), name: ts.Name, strict: len(ts.Fields) > 0,
		colIdx: map[string]int{}, index: map[string]*record{}, newFieldID: func() string { return e.newID("fld") }}
	for _, fs := range ts.Fields {
		if fs.Name == "" {
			return errors.New("airtableemu: field name is empty")
		}
		if _, dup := t.colIdx[fs.Name]; dup {
			return fmt.Errorf("airtableemu: duplicate field %q", fs.Name)
		}
		typ := fs.Type
		if typ == "" {
			typ = TypeSingleLineText
		}
		switch typ {
		case TypeSingleLineText, TypeMultilineText, TypeEmail, TypePhoneNumber, TypeNumber,
			TypeCheckbox, TypeSingleSelect, TypeMultipleSelects, TypeLastModifiedTime:
		default:
			return fmt.Errorf("airtableemu: field %q: unsupported type %q", fs.Name, fs.Type)
		}
		t.addColumn(fs.Name, typ, slices.Clone(fs.Options))
	}
	b.tables = append(b.tables, t)
	b.byName[t.name] = t
	b.byID[t.id] = t
	return nil
}

// table finds a table by name or by tbl… ID, as Airtable's URLs allow.
func (b *base) table(nameOrID string) *table {
	if t := b.byName[nameOrID]; t != nil {
		return t
	}
	return b.byID[nameOrID]
}

func (b *base) hasRecord(id string) bool {
	for _, t := range b.tables {
		if t.index[id] != nil {
			return true
		}
	}
	return false
}

func (b *base) info() BaseInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	bi := BaseInfo{ID: b.id, Name: b.name, Tables: make([]TableInfo, 0, len(b.tables))}
	for _, t := range b.tables {
		ti := TableInfo{ID: t.id, Name: t.name, Records: t.live}
		for _, c := range t.cols {
			ti.Fields = append(ti.Fields, FieldSpec{Name: c.name, Type: c.typ, Options: slices.Clone(c.options)})
		}
		bi.Tables = append(bi.Tables, ti)
	}
	return bi
}

// record is one stored record. vals is indexed like the table's columns; a
// nil entry is an empty cell. vals is never modified once stored (updates
// swap in a new slice), so a response can be encoded outside the lock.
type record struct {
	id      string
	seq     uint64
	created time.Time
	vals    []any
	deleted bool
}

// table keeps records in creation order (seq ascending) with an ID index.
// Deleted records stay as tombstones until compaction so positions found by
// seq stay cheap.
type table struct {
	id         string
	name       string
	strict     bool
	cols       []*column
	colIdx     map[string]int
	recs       []*record
	index      map[string]*record
	live       int
	tombstones int
	nextSeq    uint64
	newFieldID func() string
}

func (t *table) addColumn(name string, typ FieldType, options []string) int {
	t.cols = append(t.cols, &column{id: t.newFieldID(), name: name, typ: typ, options: options})
	t.colIdx[name] = len(t.cols) - 1
	return len(t.cols) - 1
}

// buildVals applies fields on top of old (nil: a new record, or replace
// semantics when replace is set) and returns the new value slice and the
// select options typecast created, without changing the table except for
// columns of a schemaless table.
func (t *table) buildVals(old []any, fields map[string]any, typecast, replace bool) ([]any, map[int][]string, *apiError) {
	// Validate names first so nothing changes on error.
	for name := range fields {
		if _, ok := t.colIdx[name]; !ok && t.strict {
			return nil, nil, errUnknownField(name)
		}
	}
	var vals []any
	if replace || old == nil {
		vals = make([]any, len(t.cols), len(t.cols)+len(fields))
	} else {
		vals = make([]any, len(t.cols), len(t.cols)+len(fields))
		copy(vals, old)
	}
	var added map[int][]string
	apply := func(name string, raw any) *apiError {
		v, empty := normalizeValue(raw)
		i, ok := t.colIdx[name]
		if !ok {
			if empty {
				return nil
			}
			i = t.addColumn(name, "", nil)
		}
		for len(vals) <= i {
			vals = append(vals, nil)
		}
		if empty {
			vals[i] = nil
			return nil
		}
		cv, newOpts, aerr := t.cols[i].coerce(v, typecast)
		if aerr != nil {
			return aerr
		}
		if len(newOpts) > 0 {
			if added == nil {
				added = map[int][]string{}
			}
			added[i] = append(added[i], newOpts...)
		}
		vals[i] = cv
		return nil
	}
	if t.strict {
		for name, raw := range fields {
			if aerr := apply(name, raw); aerr != nil {
				return nil, nil, aerr
			}
		}
		t.stampModified(vals)
		return vals, added, nil
	}
	// A schemaless table creates columns in a deterministic order.
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if aerr := apply(name, fields[name]); aerr != nil {
			return nil, nil, aerr
		}
	}
	return vals, added, nil
}

func (t *table) addOptions(added map[int][]string) {
	for i, opts := range added {
		for _, o := range opts {
			if !slices.Contains(t.cols[i].options, o) {
				t.cols[i].options = append(t.cols[i].options, o)
			}
		}
	}
}

func (t *table) insert(r *record) {
	r.seq = t.nextSeq
	t.nextSeq++
	t.recs = append(t.recs, r)
	t.index[r.id] = r
	t.live++
}

func (t *table) remove(id string) bool {
	r := t.index[id]
	if r == nil {
		return false
	}
	r.deleted = true
	delete(t.index, id)
	t.live--
	t.tombstones++
	if t.tombstones > 1024 && t.tombstones > t.live {
		kept := make([]*record, 0, t.live)
		for _, r := range t.recs {
			if !r.deleted {
				kept = append(kept, r)
			}
		}
		t.recs = kept
		t.tombstones = 0
	}
	return true
}

// position returns the index of the first stored record with seq >= seq.
func (t *table) position(seq uint64) int {
	return sort.Search(len(t.recs), func(i int) bool { return t.recs[i].seq >= seq })
}

func (t *table) export(r *record) Record {
	out := Record{ID: r.id, CreatedTime: r.created, Fields: make(map[string]any)}
	for i, v := range r.vals {
		if v != nil {
			out.Fields[t.cols[i].name] = deepCopy(v)
		}
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	}
	return v
}

// value returns the stored value of a field (nil when empty or unknown).
func (t *table) value(r *record, name string) any {
	i, ok := t.colIdx[name]
	if !ok || i >= len(r.vals) {
		return nil
	}
	return r.vals[i]
}

// RenameField renames a column (as an Airtable user does in the UI, or the
// Web API's PATCH .../fields/{field}): the records keep their values under
// the new name; anything reading the old name finds no such column.
func (e *Emulator) RenameField(baseID, tableName, field, newName string) error {
	b := e.base(baseID)
	if b == nil {
		return ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.table(tableName)
	if t == nil {
		return ErrNotFound
	}
	i, ok := t.colIdx[field]
	if !ok {
		for j, c := range t.cols {
			if c.id == field {
				i, ok = j, true
			}
		}
	}
	if !ok {
		return ErrNotFound
	}
	if _, taken := t.colIdx[newName]; taken || newName == "" {
		return fmt.Errorf("airtableemu: a field named %q exists", newName)
	}
	delete(t.colIdx, t.cols[i].name)
	t.cols[i].name = newName
	t.colIdx[newName] = i
	return nil
}
