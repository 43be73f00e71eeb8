package airtableemu_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mehanizm/airtable"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

const testBase = "appTestBase000001"

// fakeClock is a manually advanced clock for rate-limit and TTL tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	emu    *airtableemu.Emulator
	srv    *httptest.Server
	client *airtable.Client
}

// newEnv starts an emulator over real HTTP and a real client pointed at it.
// The client's own throttle (4 requests/s by default) is raised so tests
// run fast.
func newEnv(t *testing.T, opts airtableemu.Options) *env {
	t.Helper()
	emu := airtableemu.New(opts)
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	return &env{emu: emu, srv: srv, client: newClient(t, srv.URL, "test-key")}
}

func newClient(t *testing.T, url, key string) *airtable.Client {
	t.Helper()
	c := airtable.NewClient(key)
	if err := c.SetBaseURL(url + "/v0"); err != nil {
		t.Fatal(err)
	}
	c.SetRateLimit(1000)
	return c
}

// itemsBase creates testBase with a schemaless "Items" table holding n
// records {"Name": "item-<i>", "N": i}.
func (e *env) itemsBase(t *testing.T, n int) []string {
	t.Helper()
	if _, err := e.emu.CreateBase(testBase, "Test", airtableemu.TableSpec{Name: "Items"}); err != nil {
		t.Fatal(err)
	}
	fields := make([]map[string]any, n)
	for i := range fields {
		fields[i] = map[string]any{"Name": fmt.Sprintf("item-%d", i), "N": i}
	}
	ids, err := e.emu.SeedFields(testBase, "Items", fields)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// walk lists a whole table through the real client, page by page.
func walk(t *testing.T, tbl *airtable.Table, configure func(*airtable.GetRecordsConfig) *airtable.GetRecordsConfig) ([]*airtable.Record, []int) {
	t.Helper()
	var all []*airtable.Record
	var sizes []int
	offset := ""
	for page := 0; ; page++ {
		if page > 10_000 {
			t.Fatal("walk does not end")
		}
		q := tbl.GetRecords().WithOffset(offset)
		if configure != nil {
			q = configure(q)
		}
		recs, err := q.Do()
		if err != nil {
			t.Fatalf("page %d: %v", page+1, err)
		}
		all = append(all, recs.Records...)
		sizes = append(sizes, len(recs.Records))
		if recs.Offset == "" {
			return all, sizes
		}
		offset = recs.Offset
	}
}

// httpErr asserts err is the client's HTTP error with the given status and a
// body containing want.
func httpErr(t *testing.T, err error, status int, want ...string) {
	t.Helper()
	var he *airtable.HTTPClientError
	if !errors.As(err, &he) {
		t.Fatalf("want HTTP %d error, got %v", status, err)
	}
	if he.StatusCode != status {
		t.Fatalf("want HTTP %d, got %d: %v", status, he.StatusCode, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not contain %q", err, w)
		}
	}
}

// do sends a raw request and decodes the JSON answer into out (if non-nil).
func do(t *testing.T, method, url, key string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, b, err)
		}
	}
	return resp.StatusCode
}

// rawBody returns the status and body of a request.
func rawBody(t *testing.T, method, url, key string) (int, string) {
	t.Helper()
	var raw json.RawMessage
	status := do(t, method, url, key, nil, &raw)
	return status, string(raw)
}
