package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nurture-sms/nurture/internal/airtableemu"
)

// syncTenant gives a tenant an Airtable base in the emulator with n leads.
func syncTenant(t *testing.T, n int) (tenant, string, []string) {
	t.Helper()
	base := fmt.Sprintf("appCons%010d", time.Now().UnixNano()%10_000_000_000)
	if _, err := testEmu.CreateBase(base, "console", airtableemu.LeadsSpec()); err != nil {
		t.Fatal(err)
	}
	var fields []map[string]any
	for i := 0; i < n; i++ {
		fields = append(fields, map[string]any{
			airtableemu.FieldFirstName: fmt.Sprintf("Lead%d", i), airtableemu.FieldPhone: fmt.Sprintf("+1555%07d", i),
			airtableemu.FieldEmail: fmt.Sprintf("l%d@example.com", i), airtableemu.FieldTags: []any{"webinar"},
			airtableemu.FieldICPScore: float64(i % 101), airtableemu.FieldEngagement: "high", airtableemu.FieldStatus: "new",
			airtableemu.FieldTimezone: "America/New_York",
		})
	}
	ids, err := testEmu.SeedFields(base, "Leads", fields)
	if err != nil {
		t.Fatal(err)
	}
	tn := newTenant(t, "sync")
	if _, err := testDB.Pool.Exec(context.Background(), `UPDATE clients SET airtable_base_id = $2 WHERE id = $1`, tn.ID, base); err != nil {
		t.Fatal(err)
	}
	return tn, base, ids
}

func liveLeads(t *testing.T, tn tenant) int {
	t.Helper()
	var n int
	if err := testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM leads WHERE client_id = $1 AND deleted_at IS NULL`, tn.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// startSyncInBrowser clicks "Start a sync" and waits on the sync's page
// for phase.
func startSyncInBrowser(b *browser, phase string) {
	b.t.Helper()
	b.goTo("#/syncs")
	b.do(chromedp.Click(chromedp.CSS("#start-sync")))
	b.waitFor("sync page", `location.hash.startsWith('#/syncs/')`)
	b.waitFor("phase "+phase, `document.querySelector('#main h1') && document.querySelector('#main h1').innerText.includes('`+phase+`')`, 90*time.Second)
}

// Start syncs from the console; staged deletions above the threshold are
// rejected (leads restored), then approved only after typing the count.
func TestSyncsRejectThenApproveStagedDeletions(t *testing.T) {
	base := newAPI(t)
	tn, airBase, ids := syncTenant(t, 100)
	b := newBrowser(t, base)
	b.signIn(tn.Admin)
	startSyncInBrowser(b, "completed")
	if n := liveLeads(t, tn); n != 100 {
		t.Fatalf("%d leads after the first sync", n)
	}
	if _, err := testEmu.DeleteRecords(airBase, "Leads", ids[:10]...); err != nil {
		t.Fatal(err)
	}

	startSyncInBrowser(b, "awaiting_decision")
	b.waitFor("review", `document.querySelector('#staged-summary') && document.querySelectorAll('#staged-body tr').length === 10`)
	summary := b.text("#staged-summary")
	for _, want := range []string{"10 leads staged", "10.0% of the client's leads", "threshold 5.0%", "type the count"} {
		if !strings.Contains(summary, want) {
			t.Fatalf("summary %q lacks %q", summary, want)
		}
	}
	b.shot("sync-review")
	b.do(chromedp.Click(chromedp.CSS("#reject")))
	b.waitFor("reject dialog", `document.querySelector('#confirm').open && document.querySelector('#confirm-text').innerText.includes('10')`)
	b.do(chromedp.Click(chromedp.CSS("#confirm-ok")))
	b.waitFor("rejected", `document.querySelector('#decision-msg').innerText.includes('rejected')`)
	b.waitFor("completed", `document.querySelector('#main h1').innerText.includes('completed')`, 60*time.Second)
	if n := liveLeads(t, tn); n != 100 {
		t.Fatalf("%d live leads after reject, want 100", n)
	}

	startSyncInBrowser(b, "awaiting_decision")
	b.waitFor("review", `document.querySelector('#approve')`)
	b.do(chromedp.Click(chromedp.CSS("#approve")))
	b.waitFor("approve dialog", `document.querySelector('#confirm').open && document.querySelector('#confirm-input')`)
	if b.eval(`document.querySelector('#confirm-ok').disabled ? 'disabled' : 'enabled'`) != "disabled" {
		t.Fatal("approve above the threshold is enabled before the count is typed")
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#confirm-input"), "9"))
	if b.eval(`document.querySelector('#confirm-ok').disabled ? 'disabled' : 'enabled'`) != "disabled" {
		t.Fatal("a wrong count enables approve")
	}
	b.eval(`(() => { document.querySelector('#confirm-input').value = ''; return ''; })()`)
	b.do(chromedp.SendKeys(chromedp.CSS("#confirm-input"), "10"))
	b.waitFor("approve enabled", `!document.querySelector('#confirm-ok').disabled`)
	b.shot("sync-approve")
	b.do(chromedp.Click(chromedp.CSS("#confirm-ok")))
	b.waitFor("approved", `document.querySelector('#decision-msg').innerText.includes('approved')`)
	b.waitFor("completed", `document.querySelector('#main h1').innerText.includes('completed')`, 60*time.Second)
	if n := liveLeads(t, tn); n != 90 {
		t.Fatalf("%d live leads after approve, want 90", n)
	}
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}

// A super admin picks the client; the pages show that client's data.
func TestSuperAdminPicksClient(t *testing.T) {
	base := newAPI(t)
	a := newTenant(t, "pick-a")
	bt := newTenant(t, "pick-b")
	seedLeads(t, a.ID, 2, "Alice")
	seedLeads(t, bt.ID, 3, "Bob")
	_, super, err := testStore.CreateToken(context.Background(), superTokenSpec(), "test")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.signIn(super)
	pick := func(id string) {
		b.eval(fmt.Sprintf(`(() => { const p = document.querySelector('#client-picker'); p.value = %q; p.dispatchEvent(new Event('change')); return ''; })()`, id))
	}
	pick(a.ID.String())
	b.waitFor("A's leads", `document.querySelectorAll('#leads-body tr').length === 2 && document.querySelector('#leads-body').innerText.includes('Alice')`)
	pick(bt.ID.String())
	b.waitFor("B's leads", `document.querySelectorAll('#leads-body tr').length === 3 && document.querySelector('#leads-body').innerText.includes('Bob')`)
}
