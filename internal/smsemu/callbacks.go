package smsemu

import (
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sign computes X-Twilio-Signature as Twilio does for a POST webhook:
// base64(HMAC-SHA1(authToken, fullURL + every POST parameter's name and
// value, sorted by name)). Repeated names contribute each value in order.
func Sign(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			io.WriteString(mac, k)
			io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// cbJob is one status callback to send.
type cbJob struct {
	due     time.Time
	m       *message
	gen     uint64
	status  string
	attempt int
}

type jobHeap []*cbJob

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(*cbJob)) }
func (h *jobHeap) Pop() any {
	old := *h
	n := len(old)
	j := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return j
}

// callbacks times status callbacks with one scheduler goroutine (a heap of
// due jobs) feeding a bounded pool of workers. Both start with the first
// callback and stop with Close.
type callbacks struct {
	e       *Emulator
	client  *http.Client
	workers int
	retries int

	mu      sync.Mutex
	h       jobHeap
	closed  bool
	started bool
	wake    chan struct{}
	work    chan *cbJob
	stop    chan struct{}
	wg      sync.WaitGroup
	queued  atomic.Int64 // in the heap or the work channel or being sent
	// ctx ends in-flight callback requests at Close.
	ctx    context.Context
	cancel context.CancelFunc
}

func newCallbacks(e *Emulator, opts Options) *callbacks {
	c := &callbacks{e: e, workers: opts.CallbackWorkers, retries: opts.CallbackRetries,
		wake: make(chan struct{}, 1), stop: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if c.workers <= 0 {
		c.workers = DefaultCallbackWorkers
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultCallbackRetries
	case c.retries < 0:
		c.retries = 0
	}
	c.client = opts.HTTPClient
	if c.client == nil {
		timeout := opts.CallbackTimeout
		if timeout <= 0 {
			timeout = DefaultCallbackTimeout
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 2 * c.workers
		tr.MaxIdleConnsPerHost = 2 * c.workers
		c.client = &http.Client{Timeout: timeout, Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	c.work = make(chan *cbJob, 4*c.workers)
	return c
}

func (c *callbacks) pending() int64 { return c.queued.Load() }

// schedule queues the callbacks of m's status walk.
func (c *callbacks) schedule(m *message, gen uint64, dupP, reorderP float64) {
	statuses, offsets, n := m.walk()
	if reorderP > 0 && rand.Float64() < reorderP {
		// Final status first: keep the times, reverse the statuses.
		for l, r := 0, n-1; l < r; l, r = l+1, r-1 {
			statuses[l], statuses[r] = statuses[r], statuses[l]
		}
		c.e.stats.callbacksReordered.Add(1)
	}
	jobs := make([]*cbJob, 0, 2*n)
	base := time.Now()
	for i := range n {
		j := &cbJob{due: base.Add(offsets[i]), m: m, gen: gen, status: statuses[i]}
		jobs = append(jobs, j)
		if dupP > 0 && rand.Float64() < dupP {
			dup := *j
			dup.due = dup.due.Add(m.step/4 + time.Millisecond)
			jobs = append(jobs, &dup)
			c.e.stats.callbacksDup.Add(1)
		}
	}
	c.push(jobs...)
}

func (c *callbacks) push(jobs ...*cbJob) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if !c.started {
		c.started = true
		c.wg.Add(1 + c.workers)
		go c.run()
		for range c.workers {
			go c.worker()
		}
	}
	wasFirst := len(c.h) == 0 || jobs[0].due.Before(c.h[0].due)
	for _, j := range jobs {
		heap.Push(&c.h, j)
	}
	c.queued.Add(int64(len(jobs)))
	c.mu.Unlock()
	if wasFirst {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// run hands due jobs to the workers.
func (c *callbacks) run() {
	defer c.wg.Done()
	defer close(c.work)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		var next *cbJob
		wait := time.Hour
		if len(c.h) > 0 {
			if d := time.Until(c.h[0].due); d <= 0 {
				next = heap.Pop(&c.h).(*cbJob)
			} else {
				wait = d
			}
		}
		c.mu.Unlock()
		if next != nil {
			select {
			case c.work <- next:
			case <-c.stop:
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.wake:
			timer.Stop() // Go ≥ 1.23: no stale tick is left in timer.C
		case <-c.stop:
			return
		}
	}
}

func (c *callbacks) worker() {
	defer c.wg.Done()
	for j := range c.work {
		c.deliver(j)
	}
}

func (c *callbacks) close() {
	c.mu.Lock()
	c.closed = true
	started := c.started
	c.mu.Unlock()
	if started {
		close(c.stop)
		c.cancel()
		c.wg.Wait()
	}
	c.cancel()
	c.queued.Store(0)
}

// deliver sends one callback; a connection error or a 5xx is retried after
// 100 ms, 200 ms, 400 ms… up to the retry count.
func (c *callbacks) deliver(j *cbJob) {
	e := c.e
	if e.gen.Load() != j.gen || c.ctx.Err() != nil {
		c.queued.Add(-1)
		return
	}
	m := j.m
	form := url.Values{
		"MessageSid":    {m.sid},
		"SmsSid":        {m.sid},
		"AccountSid":    {e.accountSID},
		"From":          {m.from},
		"To":            {m.to},
		"MessageStatus": {j.status},
		"SmsStatus":     {j.status},
		"ApiVersion":    {APIVersion},
	}
	if m.msid != "" {
		form.Set("MessagingServiceSid", m.msid)
	}
	if j.status == "undelivered" || j.status == "failed" {
		form.Set("ErrorCode", strconv.Itoa(m.errorCode))
	}
	status, err := c.post(m.callback, form)
	if err == nil && status < 500 {
		e.stats.callbacksSent.Add(1)
		c.queued.Add(-1)
		return
	}
	select {
	case <-c.stop:
		c.queued.Add(-1)
		return
	default:
	}
	if j.attempt < c.retries {
		e.stats.callbackRetries.Add(1)
		retry := *j
		retry.attempt++
		retry.due = time.Now().Add(100 * time.Millisecond << j.attempt)
		c.queued.Add(-1)
		c.push(&retry)
		return
	}
	e.stats.callbacksFailed.Add(1)
	c.queued.Add(-1)
}

// post sends a signed form to target and returns the answer's status.
func (c *callbacks) post(target string, form url.Values) (int, error) {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, target, nil)
	if err != nil {
		return 0, err
	}
	status, _, _, err := c.postRead(req, target, form, 0)
	return status, err
}

// postRead sends a signed form POST in the context of proto (a request
// giving the context) and reads up to limit bytes of the answer.
func (c *callbacks) postRead(proto *http.Request, target string, form url.Values, limit int64) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(proto.Context(), http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Sign(c.e.authToken, target, form))
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var body []byte
	if limit > 0 {
		body, err = io.ReadAll(io.LimitReader(resp.Body, limit))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, body, err
}
