package airtableemu

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// listQuery is a parsed list-records request.
type listQuery struct {
	pageSize   int
	offset     string
	fields     []string // nil: every field
	formula    string
	maxRecords int // 0: no cap
	sorts      []sortSpec
	byFieldID  bool
	asString   bool
}

type sortSpec struct {
	field string
	desc  bool
}

var sortKeyRe = regexp.MustCompile(`^sort\[(\d+)\]\[(field|direction)\]$`)

// parseListQuery reads the query string of GET /v0/{base}/{table}.
func parseListQuery(v url.Values) (listQuery, *apiError) {
	q := listQuery{pageSize: MaxPageSize}
	sorts := map[int]*sortSpec{}
	for key, vals := range v {
		if len(vals) == 0 {
			continue
		}
		last := vals[len(vals)-1]
		switch {
		case key == "pageSize":
			n, err := strconv.Atoi(last)
			if err != nil || n < 1 || n > MaxPageSize {
				return q, errInvalidRequest()
			}
			q.pageSize = n
		case key == "maxRecords":
			n, err := strconv.Atoi(last)
			if err != nil || n < 0 {
				return q, errInvalidRequest()
			}
			q.maxRecords = n
		case key == "offset":
			q.offset = last
		case key == "filterByFormula":
			q.formula = last
		case key == "fields[]" || key == "fields" || strings.HasPrefix(key, "fields["):
			if q.fields == nil {
				q.fields = []string{}
			}
			q.fields = append(q.fields, vals...)
		case key == "returnFieldsByFieldId":
			q.byFieldID = last == "true" || last == "1"
		case key == "cellFormat":
			switch last {
			case "json":
			case "string":
				q.asString = true
			default:
				return q, errInvalidRequest()
			}
		case strings.HasPrefix(key, "sort["):
			m := sortKeyRe.FindStringSubmatch(key)
			if m == nil {
				return q, errInvalidRequest()
			}
			i, _ := strconv.Atoi(m[1])
			s := sorts[i]
			if s == nil {
				s = &sortSpec{}
				sorts[i] = s
			}
			if m[2] == "field" {
				s.field = last
			} else {
				switch last {
				case "asc":
				case "desc":
					s.desc = true
				default:
					return q, errInvalidRequest()
				}
			}
		}
	}
	if q.asString && (v.Get("timeZone") == "" || v.Get("userLocale") == "") {
		return q, errInvalidRequest()
	}
	if len(sorts) > 0 {
		idx := make([]int, 0, len(sorts))
		for i := range sorts {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			if sorts[i].field == "" {
				return q, errInvalidRequest()
			}
			q.sorts = append(q.sorts, *sorts[i])
		}
	}
	return q, nil
}

// iterator is the server side of a list walk: the offsets handed out point
// into it. It sees the records that existed when the walk started (seq below
// snapshot), minus those deleted since.
type iterator struct {
	id       string
	t        *table
	snapshot uint64
	filter   *formula
	order    []*record // materialized order of a sorted walk; nil: creation order
	limit    int       // records the whole walk may return; -1: no limit
	expires  time.Time
	cursors  map[string]cursor // by the record-ID half of the offset
}

type cursor struct {
	pos      uint64 // seq of the next record, or index into order
	page     int    // 1-based number of the page this cursor asks for
	returned int    // records returned by earlier pages
}

var offsetRe = regexp.MustCompile(`^(itr[A-Za-z0-9]{14})/(rec[A-Za-z0-9]{14})$`)

// recView is what a response needs of a record, copied under the lock.
type recView struct {
	id      string
	created time.Time
	vals    []any
}

// page is one list response, ready to be encoded outside the lock.
type page struct {
	cols     []*column
	proj     []int // nil: every column
	recs     []recView
	offset   string
	byID     bool
	asString bool
}

func (t *table) column(nameOrID string) (int, bool) {
	if i, ok := t.colIdx[nameOrID]; ok {
		return i, true
	}
	for i, c := range t.cols {
		if c.id == nameOrID {
			return i, true
		}
	}
	return 0, false
}

// projection resolves fields[] to column indexes.
func (t *table) projection(fields []string) ([]int, *apiError) {
	if fields == nil {
		return nil, nil
	}
	proj := make([]int, 0, len(fields))
	for _, f := range fields {
		i, ok := t.column(f)
		if !ok {
			if t.strict {
				return nil, errUnknownField(f)
			}
			continue // a schemaless table has no such field yet
		}
		proj = append(proj, i)
	}
	return proj, nil
}

func errIterator() *apiError {
	return typedErr(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
		"The list records iterator is no longer available (it timed out or the server restarted). Restart the listing from the beginning.")
}

// list serves one page. The caller holds b.mu.
func (e *Emulator) list(b *base, t *table, q listQuery, now time.Time, ttl time.Duration) (*page, *apiError) {
	proj, aerr := t.projection(q.fields)
	if aerr != nil {
		return nil, aerr
	}
	var it *iterator
	var cur cursor
	if q.offset != "" {
		m := offsetRe.FindStringSubmatch(q.offset)
		if m == nil {
			return nil, typedErr(422, "INVALID_OFFSET_VALUE", fmt.Sprintf("The value of offset %s is invalid", q.offset))
		}
		it = b.iters[m[1]]
		if it != nil && now.After(it.expires) {
			delete(b.iters, it.id)
			it = nil
		}
		var ok bool
		if it != nil && it.t == t {
			cur, ok = it.cursors[m[2]]
		}
		if !ok {
			b.stats.iteratorErrors.Add(1)
			e.stats.iteratorErrors.Add(1)
			return nil, errIterator()
		}
	} else {
		cur = cursor{page: 1}
	}

	if fp := b.faults.FailPage; fp != nil && fp.Page == cur.page {
		if fp.Once {
			b.faults.FailPage = nil
		}
		return nil, e.injected(b, fp.Status)
	}

	if it == nil {
		f, aerr := compileFormula(q.formula, t)
		if aerr != nil {
			return nil, aerr
		}
		it = &iterator{t: t, snapshot: t.nextSeq, filter: f, limit: -1}
		if len(q.sorts) > 0 {
			if aerr := it.materialize(t, q.sorts); aerr != nil {
				return nil, aerr
			}
		}
		if q.maxRecords > 0 {
			it.limit = q.maxRecords
		}
		if tf := b.faults.Truncate; tf != nil {
			n := tf.AfterRecords
			if tf.Fraction > 0 {
				n = int(math.Floor(tf.Fraction * float64(it.count(t))))
			}
			if it.limit < 0 || n < it.limit {
				it.limit = n
			}
			if tf.Once {
				b.faults.Truncate = nil
			}
		}
	}

	want := q.pageSize
	if it.limit >= 0 {
		want = max(0, min(want, it.limit-cur.returned))
	}
	out := make([]recView, 0, want)
	var next *record
	var nextPos uint64
	moreAllowed := func() bool { return it.limit < 0 || cur.returned+len(out) < it.limit }
	if it.order != nil {
		i := int(cur.pos)
		for ; i < len(it.order) && len(out) < want; i++ {
			if r := it.order[i]; !r.deleted {
				out = append(out, recView{r.id, r.created, r.vals})
			}
		}
		if moreAllowed() {
			for ; i < len(it.order); i++ {
				if !it.order[i].deleted {
					next, nextPos = it.order[i], uint64(i)
					break
				}
			}
		}
	} else {
		match := func(r *record) bool {
			return !r.deleted && (it.filter == nil || it.filter.match(t, r))
		}
		i := t.position(cur.pos)
		for ; i < len(t.recs) && len(out) < want; i++ {
			r := t.recs[i]
			if r.seq >= it.snapshot {
				break
			}
			if match(r) {
				out = append(out, recView{r.id, r.created, r.vals})
			}
		}
		if moreAllowed() {
			for ; i < len(t.recs) && t.recs[i].seq < it.snapshot; i++ {
				if r := t.recs[i]; match(r) {
					next, nextPos = r, r.seq
					break
				}
			}
		}
	}

	pg := &page{cols: t.cols[:len(t.cols):len(t.cols)], proj: proj, recs: out, byID: q.byFieldID, asString: q.asString}
	if next != nil {
		if it.id == "" {
			e.sweepIterators(b, now)
			it.id = e.newID("itr")
			for b.iters[it.id] != nil {
				it.id = e.newID("itr")
			}
			it.cursors = map[string]cursor{}
			b.iters[it.id] = it
		}
		it.cursors[next.id] = cursor{pos: nextPos, page: cur.page + 1, returned: cur.returned + len(out)}
		pg.offset = it.id + "/" + next.id
	}
	if it.id != "" {
		it.expires = now.Add(ttl)
	}
	b.stats.listRequests.Add(1)
	e.stats.listRequests.Add(1)
	b.stats.recordsListed.Add(int64(len(out)))
	e.stats.recordsListed.Add(int64(len(out)))
	return pg, nil
}

// count returns how many records the walk would return without limits.
func (it *iterator) count(t *table) int {
	if it.order != nil {
		return len(it.order)
	}
	if it.filter == nil {
		return t.live
	}
	n := 0
	for _, r := range t.recs {
		if !r.deleted && it.filter.match(t, r) {
			n++
		}
	}
	return n
}

// materialize computes the order of a sorted walk: the matching records,
// sorted stably by the sort fields (blank cells first when ascending).
func (it *iterator) materialize(t *table, sorts []sortSpec) *apiError {
	cols := make([]int, len(sorts))
	for i, s := range sorts {
		c, ok := t.column(s.field)
		if !ok {
			if t.strict {
				return errUnknownField(s.field)
			}
			c = -1
		}
		cols[i] = c
	}
	order := make([]*record, 0, t.live)
	for _, r := range t.recs {
		if !r.deleted && (it.filter == nil || it.filter.match(t, r)) {
			order = append(order, r)
		}
	}
	cell := func(r *record, c int) any {
		if c < 0 || c >= len(r.vals) {
			return nil
		}
		return formulaValue(r.vals[c])
	}
	sort.SliceStable(order, func(a, b int) bool {
		for i, s := range sorts {
			c := compareCells(cell(order[a], cols[i]), cell(order[b], cols[i]))
			if c == 0 {
				continue
			}
			if s.desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
	it.order = order
	return nil
}

func compareCells(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	an, aok := a.(float64)
	bn, bok := b.(float64)
	if aok && bok {
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	}
	if ab, ok := a.(bool); ok {
		if bb, ok := b.(bool); ok {
			return int(toNum(ab) - toNum(bb))
		}
	}
	return strings.Compare(strings.ToLower(toStr(a)), strings.ToLower(toStr(b)))
}

// sweepIterators drops expired walks. The caller holds b.mu.
func (e *Emulator) sweepIterators(b *base, now time.Time) {
	if len(b.iters) < 32 || now.Before(b.nextSweep) {
		return
	}
	b.nextSweep = now.Add(time.Second)
	for id, it := range b.iters {
		if now.After(it.expires) {
			delete(b.iters, id)
		}
	}
}

// injected counts and returns an injected server error.
func (e *Emulator) injected(b *base, status int) *apiError {
	b.stats.injected.Add(1)
	e.stats.injected.Add(1)
	return serverError(status)
}
