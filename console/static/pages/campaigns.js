// Campaigns: the list with status, and a campaign's page with live
// progress (polling), its actions with confirmation, and its workflow link.
import { api, qs } from '../api.js';
import { h, clear, fmtTime, badge, errorText, confirmDialog } from '../ui.js';
import { scope, canWrite, onLeave, temporalLink, clientTimezone } from '../app.js';
import { zonedToUTC } from './campaign_new.js';

const STATUSES = ['', 'scheduled', 'activating', 'failed_activation', 'enrolling', 'active', 'paused', 'completed', 'no_eligible_leads', 'cancelled', 'orphaned'];

export async function list(main) {
  const status = h('select', { id: 'c-status' }, STATUSES.map((s) => h('option', { value: s }, s || 'any')));
  const tbody = h('tbody', { id: 'campaigns-body' });
  const msg = h('p', { class: 'muted', role: 'status' });
  clear(main, h('h1', {}, 'Campaigns'),
    h('div', { class: 'row card' }, h('div', {}, h('label', { for: 'c-status' }, 'Status'), status),
      canWrite() ? h('div', {}, h('a', { href: '#/campaigns/new', 'data-write': '1' }, 'New campaign')) : null),
    h('table', { id: 'campaigns-table' }, h('thead', {}, h('tr', {}, ['Name', 'Status', 'Enrolled / matched', 'Starts', 'Created'].map((t) => h('th', { scope: 'col' }, t)))), tbody), msg);
  async function load() {
    clear(tbody);
    msg.textContent = 'Loading…';
    try {
      // The list endpoint knows fewer statuses than campaigns have; filter here for the rest.
      const r = await api('GET', '/v1/campaigns' + qs({ ...scope(), limit: 500 }));
      const rows = (r.data || []).filter((c) => !status.value || c.status === status.value);
      for (const c of rows) {
        tbody.append(h('tr', { 'data-campaign': c.id }, h('td', {}, h('a', { href: `#/campaigns/${c.id}` }, c.name)), h('td', {}, badge(c.status)),
          h('td', {}, `${c.enrolled_count} / ${c.matched_count}`), h('td', {}, fmtTime(c.start_at)), h('td', {}, fmtTime(c.created_at))));
      }
      msg.textContent = rows.length ? '' : 'No campaigns.';
    } catch (e) { msg.textContent = errorText(e); }
  }
  status.addEventListener('change', load);
  await load();
}

const TERMINAL = new Set(['completed', 'cancelled', 'no_eligible_leads', 'orphaned']);

export async function detail(main, id) {
  const head = h('div', { id: 'campaign-head' });
  const progress = h('div', { class: 'card', id: 'campaign-progress', role: 'status', 'aria-live': 'polite' });
  const stats = h('div', { id: 'campaign-stats' });
  const actions = h('div', { class: 'actions', id: 'campaign-actions' });
  const actionMsg = h('p', { id: 'action-result', role: 'alert' });
  clear(main, h('p', {}, h('a', { href: '#/campaigns' }, '← Campaigns')), head, progress, actions, actionMsg, h('h2', {}, 'Per-step statistics'), stats);
  let camp = null;
  let stopped = false;
  let timer = null;
  onLeave(() => { stopped = true; clearTimeout(timer); });

  function renderActions() {
    clear(actions);
    if (!canWrite() || !camp) return;
    const s = camp.status;
    const act = (label, path, opts = {}) => h('button', { type: 'button', 'data-write': '1', 'data-action': path, class: opts.danger ? 'danger' : '',
      onclick: () => run(label, path, opts) }, label);
    if (s === 'scheduled' || s === 'failed_activation') actions.append(act('Reschedule', 'reschedule', { reschedule: true }));
    if (s === 'failed_activation') actions.append(act('Retry activation', 'retry-activation'));
    if (s === 'active' || s === 'enrolling') actions.append(act('Pause', 'pause'));
    if (s === 'paused') actions.append(act('Resume', 'resume'));
    if (!TERMINAL.has(s)) actions.append(act('Cancel campaign', 'cancel', { danger: true }));
  }

  async function run(label, path, opts) {
    let body;
    if (opts.reschedule) {
      const tz = clientTimezone() || Intl.DateTimeFormat().resolvedOptions().timeZone;
      const input = h('input', { type: 'datetime-local', id: 'reschedule-at' });
      const utc = h('p', { class: 'muted', id: 'reschedule-utc' });
      input.addEventListener('input', () => { const d = zonedToUTC(input.value, tz); utc.textContent = d ? `= ${d.toISOString()} UTC` : ''; });
      const extra = h('div', {}, h('label', { for: 'reschedule-at' }, `New start (${tz})`), input, utc);
      if (!(await confirmDialog(`Reschedule “${camp.name}”?`, { title: 'Reschedule', okText: 'Reschedule', extra }))) return;
      const d = zonedToUTC(input.value, tz);
      if (!d) { actionMsg.textContent = 'Enter a date and time.'; return; }
      body = { start_at: d.toISOString() };
    } else if (!(await confirmDialog(`${label}: “${camp.name}”?`, { title: label, okText: label, danger: opts.danger }))) {
      return;
    }
    actionMsg.className = '';
    actionMsg.textContent = `${label}…`;
    try {
      const r = await api('POST', `/v1/campaigns/${id}/${path}`, body);
      actionMsg.className = 'ok';
      actionMsg.textContent = `${label}: done${r && r.status ? ` (now ${r.status})` : ''}.`;
    } catch (e) {
      actionMsg.className = 'error';
      actionMsg.textContent = e.status === 409 ? `Refused: ${e.message}` : errorText(e);
    }
    poll(true);
  }

  async function poll(once) {
    try {
      camp = await api('GET', `/v1/campaigns/${encodeURIComponent(id)}`);
    } catch (e) {
      clear(head, h('h1', {}, 'Campaign'), h('p', { class: 'error' }, errorText(e)));
      return;
    }
    const link = temporalLink(camp.workflow_id);
    clear(head, h('h1', {}, camp.name, ' ', badge(camp.status)),
      h('p', {}, 'Workflow ', h('code', {}, camp.workflow_id), ' ',
        link ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer', id: 'temporal-link' }, 'Open in the Temporal UI') : null),
      camp.last_error ? h('p', { class: 'error' }, 'Last error: ', camp.last_error) : null);
    const pct = camp.matched_count ? Math.min(100, Math.round((100 * camp.enrolled_count) / camp.matched_count)) : (camp.status === 'active' ? 100 : 0);
    const bar = h('span');
    bar.style.width = pct + '%';
    const steps = (() => { try { return typeof camp.messages === 'string' ? JSON.parse(camp.messages) : camp.messages || []; } catch { return []; } })();
    clear(progress,
      h('p', { id: 'enrolled' }, `Enrolled ${camp.enrolled_count} of ${camp.matched_count} matched (enrollment ${camp.enrollment_status})`),
      h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, bar),
      h('p', {}, `Starts ${fmtTime(camp.start_at)} · activated ${fmtTime(camp.activated_at)} · cap ${camp.max_leads ?? 'none'} · ${steps.length} step(s)`),
      camp.progress ? h('p', { id: 'live-progress' }, 'Live from the workflow: ', Object.entries(camp.progress)
        .filter(([k, v]) => ['status', 'enrollment_status', 'enrolled', 'matched', 'sent', 'skipped', 'failed', 'unknown', 'send_rounds', 'written_back', 'last_error'].includes(k) && v !== '' && v !== null)
        .map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(' · ')) : null);
    renderActions();
    try {
      const s = await api('GET', `/v1/campaigns/${encodeURIComponent(id)}/stats`);
      const rows = s.steps || s.data || [];
      clear(stats, rows.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Step', 'Waiting', 'Sent', 'Delivered', 'Failed', 'Replied', 'Stopped', 'Converted'].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, [r.step, r.waiting, r.sent, r.delivered, r.failed, r.replied, r.stopped, r.converted].map((v) => h('td', {}, v ?? 0))))))
        : h('p', { class: 'muted' }, 'No sending yet.'));
    } catch (e) {
      clear(stats, h('p', { class: 'muted' }, 'Statistics unavailable: ' + errorText(e)));
    }
    if (!once && !stopped && !TERMINAL.has(camp.status)) timer = setTimeout(() => poll(false), 3000);
  }
  await poll(false);
}
