// Syncs: runs with phase and counts, start one, and the review of staged
// deletions (paged, share and threshold, confirmation naming the count).
import { api, qs } from '../api.js';
import { h, clear, fmtTime, badge, errorText, confirmDialog } from '../ui.js';
import { state, scope, canWrite, isSuper, onLeave, temporalLink } from '../app.js';

const counts = (r) => `listed ${r.listed} · created ${r.created} · updated ${r.updated} · unchanged ${r.unchanged} · invalid ${r.invalid} · staged ${r.staged} · deleted ${r.deleted} · restored ${r.restored}`;

export async function list(main) {
  const tbody = h('tbody', { id: 'syncs-body' });
  const msg = h('p', { role: 'alert', id: 'sync-msg' });
  const start = canWrite() ? h('button', { type: 'button', class: 'primary', id: 'start-sync', 'data-write': '1' }, 'Start a sync') : null;
  clear(main, h('h1', {}, 'Syncs'), start ? h('div', { class: 'actions' }, start) : null, msg,
    h('table', { id: 'syncs-table' }, h('thead', {}, h('tr', {}, ['Started', 'Phase', 'Counts', 'Decision', 'Finished'].map((t) => h('th', { scope: 'col' }, t)))), tbody));
  let timer = null;
  onLeave(() => clearTimeout(timer));
  async function load() {
    try {
      const r = await api('GET', '/v1/syncs' + qs({ ...scope(), limit: 50 }));
      clear(tbody, (r.data || []).map((s) => h('tr', { 'data-sync': s.id },
        h('td', {}, h('a', { href: `#/syncs/${s.id}` }, fmtTime(s.started_at))), h('td', {}, badge(s.phase)), h('td', {}, counts(s)),
        h('td', {}, s.decision || '—'), h('td', {}, fmtTime(s.finished_at)))));
      if (!(r.data || []).length) tbody.append(h('tr', {}, h('td', { colspan: 5 }, 'No syncs yet.')));
      if ((r.data || []).some((s) => !s.finished_at)) timer = setTimeout(load, 3000);
    } catch (e) { msg.textContent = errorText(e); }
  }
  if (start) {
    start.addEventListener('click', async () => {
      start.disabled = true;
      msg.className = '';
      try {
        const body = isSuper() ? { client_id: state.clientId || undefined } : {};
        const r = await api('POST', '/v1/syncs', body);
        msg.className = 'ok';
        msg.textContent = 'Sync started.';
        location.hash = `#/syncs/${r.id}`;
      } catch (e) {
        msg.className = 'error';
        msg.textContent = e.status === 409 ? `A sync is already running${e.details.sync_id ? '' : ''}: ${e.message}` : errorText(e);
        if (e.details && e.details.sync_id) msg.append(' ', h('a', { href: `#/syncs/${e.details.sync_id}` }, 'Open it'));
      } finally { start.disabled = false; }
    });
  }
  await load();
}

export async function detail(main, id) {
  const head = h('div');
  const review = h('div', { id: 'review' });
  clear(main, h('p', {}, h('a', { href: '#/syncs' }, '← Syncs')), head, review);
  let timer = null;
  let stopped = false;
  onLeave(() => { stopped = true; clearTimeout(timer); });
  let reviewShown = false;
  async function load() {
    let s;
    try { s = await api('GET', `/v1/syncs/${encodeURIComponent(id)}`); } catch (e) { clear(head, h('p', { class: 'error' }, errorText(e))); return; }
    const link = temporalLink(s.workflow_id);
    clear(head, h('h1', {}, 'Sync ', badge(s.phase)),
      h('p', {}, `Started ${fmtTime(s.started_at)} · finished ${fmtTime(s.finished_at)}`),
      h('p', { id: 'sync-counts' }, counts(s)),
      s.error ? h('p', { class: 'error' }, s.error) : null,
      s.decision ? h('p', {}, `Decision: ${s.decision} by ${s.decided_by || '?'} at ${fmtTime(s.decided_at)}`) : null,
      link ? h('p', {}, h('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, 'Open in the Temporal UI')) : null);
    if (s.phase === 'awaiting_decision' && !reviewShown) { reviewShown = true; await showReview(); }
    if (s.phase !== 'awaiting_decision' && reviewShown) { reviewShown = false; clear(review); }
    if (!stopped && !s.finished_at) timer = setTimeout(load, 3000);
  }

  async function showReview() {
    const tbody = h('tbody', { id: 'staged-body' });
    const more = h('button', { type: 'button', id: 'staged-more', hidden: true }, 'Next page');
    const summary = h('p', { id: 'staged-summary' });
    const msg = h('p', { role: 'alert', id: 'decision-msg' });
    let cursor = null;
    let first = null;
    async function page() {
      const r = await api('GET', `/v1/syncs/${encodeURIComponent(id)}/staged-deletions` + qs({ limit: 100, cursor }));
      first = first || r;
      for (const l of r.data || []) tbody.append(h('tr', {}, h('td', {}, `${l.first_name} ${l.last_name}`.trim()), h('td', {}, l.airtable_record_id), h('td', {}, fmtTime(l.staged_at))));
      cursor = r.next_cursor;
      more.hidden = !cursor;
      return r;
    }
    const r = await page();
    const share = r.share ?? null;
    const threshold = r.threshold ?? 0.05;
    const above = share !== null && share > threshold;
    summary.textContent = `${r.staged} leads staged for deletion` +
      (share !== null ? ` — ${(share * 100).toFixed(1)}% of the client's leads (alert threshold ${(threshold * 100).toFixed(1)}%)` : '') +
      (above ? '. Above the threshold: type the count to approve.' : '.');
    if (above) summary.className = 'error';
    more.addEventListener('click', page);
    const approve = canWrite() ? h('button', { type: 'button', class: 'danger', id: 'approve', 'data-write': '1' }, `Approve ${r.staged} deletions`) : null;
    const reject = canWrite() ? h('button', { type: 'button', id: 'reject', 'data-write': '1' }, `Reject (restore ${r.staged} leads)`) : null;
    async function decide(kind) {
      const n = r.staged;
      const ok = kind === 'approve'
        ? await confirmDialog(`Delete ${n} leads from Nurture? Their enrollments end.`, { title: 'Approve deletions', okText: `Delete ${n} leads`, danger: true, typeToConfirm: above ? n : undefined })
        : await confirmDialog(`Restore ${n} staged leads (keep them)?`, { title: 'Reject deletions', okText: `Restore ${n} leads` });
      if (!ok) return;
      msg.className = '';
      msg.textContent = 'Sending the decision…';
      try {
        const d = await api('POST', `/v1/syncs/${encodeURIComponent(id)}/${kind}-deletions`);
        msg.className = 'ok';
        msg.textContent = `Decision taken: ${d.decision} (${d.staged} leads).`;
        if (approve) approve.disabled = true;
        if (reject) reject.disabled = true;
      } catch (e) {
        msg.className = 'error';
        msg.textContent = e.status === 409 ? `Refused: ${e.message}` : errorText(e);
      }
    }
    if (approve) approve.addEventListener('click', () => decide('approve'));
    if (reject) reject.addEventListener('click', () => decide('reject'));
    clear(review, h('div', { class: 'card' }, h('h2', {}, 'Staged deletions'), summary,
      h('div', { class: 'actions' }, approve, reject), msg,
      h('table', { id: 'staged-table' }, h('thead', {}, h('tr', {}, ['Name', 'Airtable record', 'Staged'].map((t) => h('th', {}, t)))), tbody), more));
  }
  await load();
}
