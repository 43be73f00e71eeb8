package twilioapi_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/nurture-sms/nurture/internal/twilioapi"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "secrettoken123"
)

// sign is an independent implementation of Twilio's webhook signature, used
// to cross-check the library.
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(form.Get(k))
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestValidateSignatureKnownVector(t *testing.T) {
	// The vector of Twilio's own libraries: token 12345, this URL and form.
	const (
		token   = "12345"
		fullURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
		want    = "vOEb5UThFn24KEfnOFLQY2AE5FY="
	)
	form := url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
	if got := sign(token, fullURL, form); got != want {
		t.Fatalf("independent HMAC = %s, want %s", got, want)
	}
	if !twilioapi.ValidateSignature(token, fullURL, form, want) {
		t.Fatal("valid signature rejected")
	}
	if twilioapi.ValidateSignature("54321", fullURL, form, want) {
		t.Error("signature accepted with the wrong token")
	}
	if twilioapi.ValidateSignature(token, fullURL+"&baz=3", form, want) {
		t.Error("signature accepted for another URL")
	}
	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("Digits", "9999")
	if twilioapi.ValidateSignature(token, fullURL, tampered, want) {
		t.Error("signature accepted for a tampered form")
	}
	if twilioapi.ValidateSignature(token, fullURL, form, "") {
		t.Error("empty signature accepted")
	}
}

func TestValidateSignatureLocalURL(t *testing.T) {
	// A webhook on a local port, as the emulator calls it.
	fullURL := "http://127.0.0.1:43117/twilio/status?tenant=7"
	form := url.Values{"MessageSid": {"SM" + strings.Repeat("ab", 16)}, "MessageStatus": {"delivered"}, "To": {"+15551230000"}}
	sig := sign(testToken, fullURL, form)
	if !twilioapi.ValidateSignature(testToken, fullURL, form, sig) {
		t.Fatal("valid signature rejected")
	}
	form.Set("MessageStatus", "failed")
	if twilioapi.ValidateSignature(testToken, fullURL, form, sig) {
		t.Fatal("tampered status accepted")
	}
}

type recorded struct {
	method, path, query, user, pass string
}

// recorder answers like Twilio and records what it was asked.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (rc *recorder) add(r *http.Request) {
	u, p, _ := r.BasicAuth()
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, u, p})
	rc.mu.Unlock()
}

func (rc *recorder) all() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.reqs...)
}

func TestNewRewritesBaseURL(t *testing.T) {
	rec := &recorder{}
	mux := http.NewServeMux()
	base := "/prefix/2010-04-01/Accounts/" + testSID
	mux.HandleFunc("GET "+base+"/Messages/{file}", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		sid := strings.TrimSuffix(r.PathValue("file"), ".json")
		fmt.Fprintf(w, `{"sid":%q,"status":"delivered","num_segments":"1"}`, sid)
	})
	mux.HandleFunc("GET "+base+"/Messages.json", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		// Two pages; next_page_uri is relative to https://api.twilio.com and
		// has no /prefix: the client must rewrite it too.
		if r.URL.Query().Get("PageToken") == "" {
			fmt.Fprintf(w, `{"messages":[{"sid":"SM1"}],"page":0,"page_size":1,"next_page_uri":"/2010-04-01/Accounts/%s/Messages.json?To=%%2B15550001111&PageSize=1&Page=1&PageToken=PASM1"}`, testSID)
			return
		}
		fmt.Fprint(w, `{"messages":[{"sid":"SM2"}],"page":1,"page_size":1,"next_page_uri":null}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		http.Error(w, "unexpected", http.StatusTeapot)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	rc := twilioapi.New(twilioapi.Config{AccountSID: testSID, AuthToken: testToken, BaseURL: srv.URL + "/prefix/"})
	m, err := rc.Api.FetchMessage("SMabc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sid == nil || *m.Sid != "SMabc" {
		t.Fatalf("sid = %v", m.Sid)
	}
	msgs, err := rc.Api.ListMessage(new(openapi.ListMessageParams).SetTo("+15550001111").SetPageSize(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || *msgs[0].Sid != "SM1" || *msgs[1].Sid != "SM2" {
		t.Fatalf("listed %d messages", len(msgs))
	}
	reqs := rec.all()
	if len(reqs) != 3 {
		t.Fatalf("server saw %d requests: %+v", len(reqs), reqs)
	}
	for _, r := range reqs {
		if r.user != testSID || r.pass != testToken {
			t.Errorf("%s %s: basic auth %q:%q", r.method, r.path, r.user, r.pass)
		}
		if !strings.HasPrefix(r.path, base) {
			t.Errorf("path %s lacks %s", r.path, base)
		}
	}
	if q, _ := url.ParseQuery(reqs[1].query); q.Get("To") != "+15550001111" || q.Get("PageSize") != "1" {
		t.Errorf("first page query %q", reqs[1].query)
	}
	if q, _ := url.ParseQuery(reqs[2].query); q.Get("PageToken") != "PASM1" {
		t.Errorf("next page query %q", reqs[2].query)
	}
}

func TestNewDefaultsToTwilio(t *testing.T) {
	for _, base := range []string{"", "https://api.twilio.com", "https://api.twilio.com/"} {
		rc := twilioapi.New(twilioapi.Config{AccountSID: testSID, AuthToken: testToken, BaseURL: base})
		if _, ok := rc.RequestHandler.Client.(*client.Client); !ok {
			t.Errorf("BaseURL %q: client is %T, want twilio-go's own *client.Client", base, rc.RequestHandler.Client)
		}
		if got := rc.RequestHandler.Client.AccountSid(); got != testSID {
			t.Errorf("AccountSid() = %q", got)
		}
	}
}

func TestNewBadBaseURL(t *testing.T) {
	for _, base := range []string{"127.0.0.1:8182", "ftp://x", "http://[::1", "http://h?x=1"} {
		rc := twilioapi.New(twilioapi.Config{AccountSID: testSID, AuthToken: testToken, BaseURL: base})
		if _, err := rc.Api.FetchMessage("SM1", nil); err == nil || !strings.Contains(err.Error(), "BaseURL") {
			t.Errorf("BaseURL %q: err = %v", base, err)
		}
	}
}

func TestErrorCode(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/2010-04-01/Accounts/"+testSID+"/Messages/SMbad.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		io.WriteString(w, `{"code":21211,"message":"The 'To' number +x is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
	})
	mux.HandleFunc("/2010-04-01/Accounts/"+testSID+"/Messages/SMproxy.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, "<html><body>Bad Gateway</body></html>")
	})
	mux.HandleFunc("/2010-04-01/Accounts/"+testSID+"/Messages/SMnostatus.json", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		io.WriteString(w, `{"code":20503,"message":"Service unavailable"}`)
	})
	mux.HandleFunc("/2010-04-01/Accounts/"+testSID+"/Messages/SMslow.json", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rc := twilioapi.New(twilioapi.Config{AccountSID: testSID, AuthToken: testToken, BaseURL: srv.URL, Timeout: 300 * time.Millisecond})

	cases := []struct {
		sid          string
		code, status int
	}{
		{"SMbad", 21211, 400},
		{"SMproxy", 0, 502},
		{"SMnostatus", 20503, 503},
	}
	for _, c := range cases {
		_, err := rc.Api.FetchMessage(c.sid, nil)
		code, status, ok := twilioapi.ErrorCode(err)
		if !ok || code != c.code || status != c.status {
			t.Errorf("%s: ErrorCode(%v) = %d, %d, %v; want %d, %d, true", c.sid, err, code, status, ok, c.code, c.status)
		}
	}

	_, err := rc.Api.FetchMessage("SMslow", nil)
	if err == nil {
		t.Fatal("slow answer: no error")
	}
	if _, _, ok := twilioapi.ErrorCode(err); ok {
		t.Errorf("timeout reported as an API error: %v", err)
	}
	if !twilioapi.IsTimeout(err) {
		t.Errorf("IsTimeout(%v) = false", err)
	}
	if _, _, ok := twilioapi.ErrorCode(nil); ok {
		t.Error("ErrorCode(nil) ok")
	}
	if _, _, ok := twilioapi.ErrorCode(fmt.Errorf("wrapped: %w", &client.TwilioRestError{Code: 21610, Status: 400})); !ok {
		t.Error("wrapped TwilioRestError not found")
	}
}

func TestCredentialsMustBeAlphanumeric(t *testing.T) {
	// twilio-go refuses such credentials itself, before any request: the
	// emulator's default token is alphanumeric for this reason.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request sent with invalid credentials")
	}))
	defer srv.Close()
	rc := twilioapi.New(twilioapi.Config{AccountSID: testSID, AuthToken: "emulator-token", BaseURL: srv.URL})
	_, err := rc.Api.FetchMessage("SM1", nil)
	if code, _, ok := twilioapi.ErrorCode(err); !ok || code != 21224 {
		t.Fatalf("err = %v, want twilio-go's 21224", err)
	}
}
