package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
)

// dialogs answers the page's native dialogs (confirm, beforeunload) in
// order from answers and reports each one's type on the returned channel.
func (b *browser) dialogs(answers ...bool) <-chan string {
	seen := make(chan string, 16)
	evs := chromedp.Events(b.ctx, page.JavascriptDialogOpening)
	go func() {
		i := 0
		for ev, err := range evs {
			if err != nil {
				return
			}
			accept := i < len(answers) && answers[i]
			i++
			seen <- string(ev.Type)
			_, _ = chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	}()
	return seen
}

func waitDialog(t *testing.T, seen <-chan string, want string) {
	t.Helper()
	select {
	case got := <-seen:
		if got != want {
			t.Fatalf("dialog %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s dialog", want)
	}
}

// Unsaved changes: leaving the form asks first (in-app navigation and
// unloading the page), and staying keeps what was typed.
func TestUnsavedChangesWarning(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "unsaved")
	b := newBrowser(t, base)
	b.signIn(tn.Admin)
	b.goTo("#/campaigns/new")
	seen := b.dialogs(false, false, true)
	b.do(chromedp.SendKeys(chromedp.CSS("#c-name"), "Half done"))

	b.eval(`(() => { location.hash = '#/leads'; return ''; })()`)
	waitDialog(t, seen, "confirm")
	b.waitFor("still on the form", `location.hash === '#/campaigns/new' && document.querySelector('#c-name').value === 'Half done'`)

	// Unloading (a reload) asks too; staying keeps the form.
	go func() { _ = chromedp.Do(b.ctx, chromedp.Reload()) }()
	waitDialog(t, seen, "beforeunload")
	b.waitFor("still typed", `document.querySelector('#c-name') && document.querySelector('#c-name').value === 'Half done'`)

	b.eval(`(() => { location.hash = '#/leads'; return ''; })()`)
	waitDialog(t, seen, "confirm")
	b.waitFor("left after confirming", `location.hash === '#/leads' && document.querySelector('#leads-table')`)
}

// Campaign actions ask for confirmation; dismissing does nothing;
// reschedule takes the new start as wall time in the zone shown and
// stores its UTC instant; a refused action shows the 409's reason.
func TestCampaignActionsWithConfirmation(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "actions")
	seedLeads(t, tn.ID, 6, "Lead")
	start := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	status, _, body := httpDo(t, "POST", base+"/v1/campaigns", fmt.Sprintf(`{"name":"Act %s","target_tags":["vip"],
		"messages":[{"body":"Hi {{first_name}}","delay_minutes":0}],"start_at":%q}`, uuid.NewString()[:6], start),
		"Authorization", "Bearer "+tn.Admin)
	if status != 201 {
		t.Fatalf("create: %d %v", status, body)
	}
	id := body["id"].(string)

	b := newBrowser(t, base)
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	b.signIn(tn.Admin)
	b.goTo("#/campaigns/" + id)
	b.waitFor("scheduled with actions", `document.querySelector('#campaign-head').innerText.includes('scheduled') && document.querySelector('[data-action="cancel"]')`, 30*time.Second)

	// Dismissed: nothing happens.
	b.do(chromedp.Click(chromedp.CSS(`[data-action="cancel"]`)))
	b.waitFor("cancel dialog", `document.querySelector('#confirm').open`)
	b.do(chromedp.Click(chromedp.CSS("#confirm-cancel")))
	b.waitFor("closed", `!document.querySelector('#confirm').open`)
	time.Sleep(500 * time.Millisecond)
	if s := campaignStatus(t, id); s != "scheduled" {
		t.Fatalf("status %s after a dismissed cancel", s)
	}

	// Reschedule to 2027-01-15 09:30 New York time = 14:30 UTC.
	b.do(chromedp.Click(chromedp.CSS(`[data-action="reschedule"]`)))
	b.waitFor("reschedule dialog", `document.querySelector('#confirm').open && document.querySelector('#reschedule-at')`)
	b.eval(`(() => { const i = document.querySelector('#reschedule-at'); i.value = '2027-01-15T09:30'; i.dispatchEvent(new Event('input')); return ''; })()`)
	if got := b.text("#reschedule-utc"); !strings.Contains(got, "2027-01-15T14:30:00.000Z") {
		t.Fatalf("UTC instant shown: %q", got)
	}
	b.do(chromedp.Click(chromedp.CSS("#confirm-ok")))
	b.waitFor("rescheduled", `document.querySelector('#action-result').innerText.includes('Reschedule: done')`, 30*time.Second)
	var startAt time.Time
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT start_at FROM campaigns WHERE id = $1`, id).Scan(&startAt); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2027, 1, 15, 14, 30, 0, 0, time.UTC); !startAt.Equal(want) {
		t.Fatalf("start_at %s, want %s", startAt, want)
	}

	// Another admin cancels while this one confirms: the refusal shows the
	// workflow's reason (409), and the page catches up.
	b.do(chromedp.Click(chromedp.CSS(`[data-action="cancel"]`)))
	b.waitFor("cancel dialog", `document.querySelector('#confirm').open`)
	if status, _, body := httpDo(t, "POST", base+"/v1/campaigns/"+id+"/cancel", "", "Authorization", "Bearer "+tn.Admin); status != 200 {
		t.Fatalf("cancel by the other admin: %d %v", status, body)
	}
	b.do(chromedp.Click(chromedp.CSS("#confirm-ok")))
	b.waitFor("refusal with its reason", `document.querySelector('#action-result').innerText.startsWith('Refused: campaign is cancelled')`, 30*time.Second)
	b.waitFor("page shows cancelled", `document.querySelector('#campaign-head').innerText.includes('cancelled')`)
	if s := campaignStatus(t, id); s != "cancelled" {
		t.Fatalf("status %s after cancel", s)
	}
	if n := b.count(`document.querySelectorAll('#campaign-actions [data-write]').length`); n != 0 {
		t.Fatalf("%d actions left on a cancelled campaign", n)
	}
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}

func campaignStatus(t *testing.T, id string) string {
	t.Helper()
	var s string
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT status FROM campaigns WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
