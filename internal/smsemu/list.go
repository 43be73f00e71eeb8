package smsemu

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// listQuery is a parsed GET …/Messages.json.
type listQuery struct {
	to, from string
	// date_sent must be in [lo, hi) when dated is set; messages not sent
	// yet never match a date filter.
	dated  bool
	lo, hi time.Time
	// filters echoes the filter parameters into the page URIs.
	filters  url.Values
	pageSize int
	page     int
	token    string // "PA<sid>" older than sid, "PB<sid>" newer than sid
}

// parseDateParam reads a DateSent value: YYYY-MM-DD (a UTC day, as Twilio
// documents) or an RFC 3339 time (what twilio-go sends for its time.Time
// parameters). It returns the instant and whether it was a bare date.
func parseDateParam(s string) (time.Time, bool, bool) {
	if len(s) == len("2006-01-02") {
		t, err := time.Parse("2006-01-02", s)
		return t, true, err == nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), false, err == nil
}

func parseListQuery(q url.Values) (listQuery, *apiError) {
	lq := listQuery{to: q.Get("To"), from: q.Get("From"), filters: url.Values{}, pageSize: defaultPageSize}
	for _, k := range []string{"To", "From"} {
		if v := q.Get(k); v != "" {
			lq.filters.Set(k, v)
		}
	}
	narrow := func(lo, hi time.Time) {
		if !lq.dated {
			lq.dated, lq.lo, lq.hi = true, lo, hi
			return
		}
		if lo.After(lq.lo) {
			lq.lo = lo
		}
		if hi.Before(lq.hi) {
			lq.hi = hi
		}
	}
	const day = 24 * time.Hour
	farFuture := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, k := range []string{"DateSent", "DateSent>", "DateSent<"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		t, isDate, ok := parseDateParam(v)
		if !ok {
			return lq, &apiError{400, 20001, "Invalid value for " + k + ": " + v}
		}
		lq.filters.Set(k, v)
		switch {
		case k == "DateSent": // that UTC day
			d := t.Truncate(day)
			narrow(d, d.Add(day))
		case k == "DateSent>": // on or after midnight of the day, or the time
			narrow(t, farFuture)
		case isDate: // DateSent<: on or before the day
			narrow(time.Time{}, t.Add(day))
		default: // DateSent< with a time: at or before it
			narrow(time.Time{}, t.Add(time.Nanosecond))
		}
	}
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return lq, &apiError{400, 20001, "Invalid value for PageSize: " + v}
		}
		lq.pageSize = min(n, maxPageSize)
	}
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lq, &apiError{400, 20001, "Invalid value for Page: " + v}
		}
		lq.page = n
	}
	lq.token = q.Get("PageToken")
	return lq, nil
}

func (lq *listQuery) match(m *message, now time.Time) bool {
	if lq.to != "" && m.to != lq.to {
		return false
	}
	if lq.from != "" && m.from != lq.from {
		return false
	}
	if lq.dated {
		sent := m.view(now).sent
		if sent.IsZero() || sent.Before(lq.lo) || !sent.Before(lq.hi) {
			return false
		}
	}
	return true
}

// listPage is one page of a listing, newest first.
type listPage struct {
	msgs          []*message
	hasNext       bool
	hasPrev       bool
	first, last   string // sids bounding the page
	invalidCursor bool
}

// page selects one page. Messages are kept oldest first, so a page walks the
// slice backwards; a PageToken is a cursor on a sid, so messages arriving
// during a walk do not shift its pages.
func (e *Emulator) page(lq *listQuery, now time.Time) listPage {
	e.mu.Lock()
	defer e.mu.Unlock()
	src := e.msgs
	if lq.to != "" {
		src = e.byTo[lq.to]
	}
	var p listPage
	p.msgs = make([]*message, 0, min(lq.pageSize, 64))
	switch {
	case lq.token == "":
		skip := lq.page * lq.pageSize
		for i := len(src) - 1; i >= 0; i-- {
			if !lq.match(src[i], now) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(p.msgs) == lq.pageSize {
				p.hasNext = true
				break
			}
			p.msgs = append(p.msgs, src[i])
		}
		p.hasPrev = lq.page > 0
	case strings.HasPrefix(lq.token, "PA"), strings.HasPrefix(lq.token, "PB"):
		cur := e.bySid[lq.token[2:]]
		if cur == nil {
			p.invalidCursor = true
			return p
		}
		if lq.token[1] == 'A' {
			// Older than the cursor.
			i := sort.Search(len(src), func(i int) bool { return src[i].seq >= cur.seq }) - 1
			for ; i >= 0; i-- {
				if !lq.match(src[i], now) {
					continue
				}
				if len(p.msgs) == lq.pageSize {
					p.hasNext = true
					break
				}
				p.msgs = append(p.msgs, src[i])
			}
			p.hasPrev = true
		} else {
			// Newer than the cursor: the page just above it.
			i := sort.Search(len(src), func(i int) bool { return src[i].seq > cur.seq })
			for ; i < len(src); i++ {
				if !lq.match(src[i], now) {
					continue
				}
				if len(p.msgs) == lq.pageSize {
					p.hasPrev = true
					break
				}
				p.msgs = append(p.msgs, src[i])
			}
			for l, r := 0, len(p.msgs)-1; l < r; l, r = l+1, r-1 {
				p.msgs[l], p.msgs[r] = p.msgs[r], p.msgs[l]
			}
			p.hasNext = true
		}
	default:
		p.invalidCursor = true
		return p
	}
	if len(p.msgs) > 0 {
		p.first, p.last = p.msgs[0].sid, p.msgs[len(p.msgs)-1].sid
	} else {
		p.hasNext = false
	}
	return p
}

func (e *Emulator) handleList(w http.ResponseWriter, r *http.Request) {
	e.stats.requests.Add(1)
	e.stats.lists.Add(1)
	if e.admitAPI(w, r) != 0 {
		return
	}
	lq, aerr := parseListQuery(r.URL.Query())
	if aerr != nil {
		writeError(w, *aerr)
		return
	}
	now := e.now()
	p := e.page(&lq, now)
	if p.invalidCursor {
		writeError(w, apiError{400, 20001, "Invalid PageToken"})
		return
	}

	path := "/" + APIVersion + "/Accounts/" + e.accountSID + "/Messages.json"
	uri := func(page int, token string) string {
		v := url.Values{}
		for k, vs := range lq.filters {
			v[k] = vs
		}
		v.Set("PageSize", strconv.Itoa(lq.pageSize))
		v.Set("Page", strconv.Itoa(page))
		if token != "" {
			v.Set("PageToken", token)
		}
		return path + "?" + v.Encode()
	}
	start := lq.page * lq.pageSize
	end := start + len(p.msgs) - 1
	if len(p.msgs) == 0 {
		end = start
	}

	bp := getBuf()
	b := append(*bp, `{"end":`...)
	b = strconv.AppendInt(b, int64(end), 10)
	b = append(b, `,"first_page_uri":`...)
	b = appendString(b, uri(0, ""))
	b = append(b, `,"messages":[`...)
	for i, m := range p.msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendMessage(b, m, m.view(now))
	}
	b = append(b, `],"next_page_uri":`...)
	if p.hasNext {
		b = appendString(b, uri(lq.page+1, "PA"+p.last))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(lq.page), 10)
	b = append(b, `,"page_size":`...)
	b = strconv.AppendInt(b, int64(lq.pageSize), 10)
	b = append(b, `,"previous_page_uri":`...)
	if p.hasPrev && lq.page > 0 && p.first != "" {
		b = appendString(b, uri(lq.page-1, "PB"+p.first))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"start":`...)
	b = strconv.AppendInt(b, int64(start), 10)
	b = append(b, `,"uri":`...)
	b = appendString(b, r.URL.RequestURI())
	b = append(b, '}')
	writeRaw(w, http.StatusOK, b)
	*bp = b
	putBuf(bp)
}
