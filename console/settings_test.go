package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Settings: a client admin edits the client (a refused field shown in
// place), revokes a token from the list (that token's console session ends
// at once), and finds both in the audit log; the new-campaign form shows the
// server's analysis of each step.
func TestSettingsTokensAuditAndAnalysis(t *testing.T) {
	base := newAPI(t)
	tn := newTenant(t, "settings")
	seedLeads(t, tn.ID, 3, "Lead")
	ctx := context.Background()
	var viewerID string
	if err := testDB.Pool.QueryRow(ctx, `SELECT id::text FROM api_tokens WHERE client_id = $1 AND role = 'client_viewer'`, tn.ID).Scan(&viewerID); err != nil {
		t.Fatal(err)
	}
	viewer := newBrowser(t, base)
	viewer.signIn(tn.Viewer)

	b := newBrowser(t, base)
	b.signIn(tn.Admin)
	b.goTo("#/settings")
	b.waitFor("client form", `document.querySelector('#s-timezone') && document.querySelector('#s-timezone').value === 'America/New_York'`)
	b.eval(`(() => { document.querySelector('#s-alert_email').value = 'not an address'; return ''; })()`)
	b.do(chromedp.Click(chromedp.CSS("#save-client")))
	b.waitFor("refused e-mail next to its field", `document.querySelector('#s-alert_email-err').innerText.length > 0`)
	b.eval(`(() => { document.querySelector('#s-alert_email').value = 'ops@example.com'; const z = document.querySelector('#s-timezone'); z.value = 'Europe/Paris'; return ''; })()`)
	b.do(chromedp.Click(chromedp.CSS("#save-client")))
	b.waitFor("saved", `document.querySelector('#client-form').innerText.includes('Saved.')`)
	var zone, email string
	if err := testDB.Pool.QueryRow(ctx, `SELECT timezone, alert_email FROM clients WHERE id = $1`, tn.ID).Scan(&zone, &email); err != nil {
		t.Fatal(err)
	}
	if zone != "Europe/Paris" || email != "ops@example.com" {
		t.Fatalf("saved %q %q", zone, email)
	}

	// Revoke the viewer's token from the list: its session ends.
	b.waitFor("token list", `document.querySelector('[data-token="`+viewerID+`"] button')`)
	b.shot("settings")
	b.do(chromedp.Click(chromedp.CSS(`[data-token="` + viewerID + `"] button`)))
	b.waitFor("revoke dialog", `document.querySelector('#confirm').open`)
	b.do(chromedp.Click(chromedp.CSS("#confirm-ok")))
	b.waitFor("revoked", `document.querySelector('#tokens-msg') && document.querySelector('[data-token="`+viewerID+`"]') && document.querySelector('[data-token="`+viewerID+`"]').innerText.includes('revoked')`)
	viewer.goTo("#/campaigns")
	viewer.waitFor("viewer signed out", `document.querySelector('#token')`)

	// The audit log names both.
	b.goTo("#/audit")
	b.eval(`(() => { document.querySelector('#a-type').value = 'token'; return ''; })()`)
	b.do(chromedp.Click(chromedp.CSS("#apply-audit")))
	b.waitFor("token.revoke row", `document.querySelector('#audit-body').innerText.includes('token.revoke')`)
	b.eval(`(() => { document.querySelector('#a-type').value = 'client'; return ''; })()`)
	b.do(chromedp.Click(chromedp.CSS("#apply-audit")))
	b.waitFor("client.update row", `document.querySelector('#audit-body').innerText.includes('client.update')`)

	// The form's live analysis, in the client's (new) zone.
	b.goTo("#/campaigns/new")
	b.waitFor("zone label", `document.querySelector('#campaign-form').innerText.includes("Europe/Paris, the client's time zone")`)
	b.do(chromedp.SendKeys(chromedp.CSS("#step-0-body"), "Hi {{first_name}} 😀"))
	b.waitFor("analysis", `document.querySelector('#step-0-analysis').dataset.encoding === 'UCS-2'`, 10*time.Second)
	b.shot("new-campaign-analysis")
	if got := b.text("#step-0-analysis"); !strings.Contains(got, "1 segment") || !strings.Contains(got, "per recipient") {
		t.Fatalf("analysis %q", got)
	}
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("page problems: %v", p)
	}
}
