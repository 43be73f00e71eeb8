// Leads: the table with the API's filters and cursor paging, and a lead's page.
import { api, qs } from '../api.js';
import { h, clear, field, fmtTime, badge, errorText, showFieldError, clearFieldErrors } from '../ui.js';
import { scope } from '../app.js';

const STATUSES = ['', 'new', 'contacted', 'engaged', 'booked', 'unqualified', 'closed'];

// toISO turns a date input (YYYY-MM-DD, local) into an RFC 3339 instant.
const toISO = (d) => (d ? new Date(d + 'T00:00:00').toISOString() : '');

export async function list(main) {
  const f = {
    status: h('select', { id: 'f-status' }, STATUSES.map((s) => h('option', { value: s }, s || 'any'))),
    tag: h('input', { type: 'text', id: 'f-tag', maxlength: 100 }),
    campaign: h('select', { id: 'f-campaign' }, h('option', { value: '' }, 'any')),
    after: h('input', { type: 'date', id: 'f-after' }),
    before: h('input', { type: 'date', id: 'f-before' }),
  };
  const filters = h('form', { class: 'card row', id: 'lead-filters', novalidate: true },
    field('Status', f.status, 'status'), field('Tag', f.tag, 'tag'), field('Campaign', f.campaign, 'campaign_id'),
    field('Created on or after', f.after, 'created_after'), field('Created before', f.before, 'created_before'),
    h('div', {}, h('button', { type: 'submit', class: 'primary', id: 'apply-filters' }, 'Apply')));
  const tbody = h('tbody', { id: 'leads-body' });
  const status = h('p', { class: 'muted', id: 'leads-status', role: 'status' });
  const more = h('button', { type: 'button', id: 'leads-more', hidden: true }, 'Next page');
  clear(main, h('h1', {}, 'Leads'), filters,
    h('table', { id: 'leads-table' }, h('thead', {}, h('tr', {}, ['Name', 'Phone', 'Status', 'Tags', 'ICP', 'Engagement', 'Created'].map((t) => h('th', { scope: 'col' }, t)))), tbody),
    status, more);
  api('GET', '/v1/campaigns' + qs({ ...scope(), limit: 200 })).then((r) => {
    for (const c of r.data || []) f.campaign.append(h('option', { value: c.id }, c.name));
  }).catch(() => {});

  let cursor = null;
  async function load(reset) {
    clearFieldErrors(filters);
    if (reset) { cursor = null; clear(tbody); }
    const q = { ...scope(), status: f.status.value, tag: f.tag.value.trim(), campaign_id: f.campaign.value,
      created_after: toISO(f.after.value), created_before: toISO(f.before.value), limit: 50, cursor };
    status.textContent = 'Loading…';
    try {
      const r = await api('GET', '/v1/leads' + qs(q));
      for (const l of r.data || []) {
        tbody.append(h('tr', { 'data-lead': l.id },
          h('td', {}, h('a', { href: `#/leads/${l.id}` }, `${l.first_name} ${l.last_name}`.trim() || l.id)),
          h('td', {}, l.phone), h('td', {}, badge(l.status)), h('td', {}, (l.tags || []).join(', ')),
          h('td', {}, l.icp_score ?? '—'), h('td', {}, l.engagement_level), h('td', {}, fmtTime(l.created_at))));
      }
      cursor = r.next_cursor;
      more.hidden = !cursor;
      status.textContent = tbody.children.length ? `${tbody.children.length} leads shown${cursor ? ' (more on the next page)' : ''}` : 'No leads match.';
    } catch (e) {
      if (!(e.details && e.details.field && showFieldError(filters, e.details.field, e.message))) status.textContent = errorText(e);
      else status.textContent = '';
    }
  }
  filters.addEventListener('submit', (e) => { e.preventDefault(); load(true); });
  more.addEventListener('click', () => load(false));
  await load(true);
}

export async function detail(main, id) {
  const l = await api('GET', `/v1/leads/${encodeURIComponent(id)}`);
  const dl = h('dl', { class: 'card' });
  for (const [k, v] of [['Phone', l.phone], ['Email', l.email], ['Status', l.status], ['Tags', (l.tags || []).join(', ')], ['ICP score', l.icp_score ?? '—'],
    ['Engagement', l.engagement_level], ['Time zone', l.timezone], ['Booked', l.booked ? 'yes' : 'no'], ['Opted out (STOP)', l.sms_stop ? 'yes' : 'no'],
    ['Airtable record', l.airtable_record_id], ['Created', fmtTime(l.created_at)]]) {
    dl.append(h('dt', {}, k), h('dd', {}, String(v ?? '')));
  }
  const enrollBox = h('div', { id: 'lead-enrollments' });
  const msgBox = h('div', { id: 'lead-messages' }, h('p', { class: 'muted' }, 'Loading messages…'));
  clear(main, h('p', {}, h('a', { href: '#/leads' }, '← Leads')), h('h1', {}, `${l.first_name} ${l.last_name}`.trim() || l.id), dl,
    h('h2', {}, 'Enrollments'), enrollBox, h('h2', {}, 'Messages'), msgBox);
  const enrollments = l.enrollments || null;
  if (enrollments) {
    clear(enrollBox, enrollments.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Campaign', 'Status', 'Steps sent', 'Enrolled'].map((t) => h('th', {}, t)))),
      h('tbody', {}, enrollments.map((e) => h('tr', {}, h('td', {}, h('a', { href: `#/campaigns/${e.campaign_id}` }, e.campaign_name || e.campaign_id)),
        h('td', {}, badge(e.status)), h('td', {}, String(e.step ?? '—')), h('td', {}, fmtTime(e.enrolled_at || e.created_at)))))) : h('p', { class: 'muted' }, 'Not enrolled in any campaign.'));
  }
  try {
    const r = await api('GET', `/v1/leads/${encodeURIComponent(id)}/messages`);
    const msgs = r.data || [];
    clear(msgBox, msgs.length ? h('table', {}, h('thead', {}, h('tr', {}, ['When', 'Direction', 'Campaign step', 'Status', 'Body'].map((t) => h('th', {}, t)))),
      h('tbody', {}, msgs.map((m) => h('tr', {}, h('td', {}, fmtTime(m.at)), h('td', {}, m.direction),
        h('td', {}, m.campaign_id ? h('a', { href: `#/campaigns/${m.campaign_id}` }, `step ${m.step ?? '?'}`) : '—'),
        h('td', {}, badge(m.status)), h('td', {}, m.body))))) : h('p', { class: 'muted' }, 'No messages yet.'));
    if (!enrollments) {
      const seen = [...new Set(msgs.filter((m) => m.campaign_id).map((m) => m.campaign_id))];
      clear(enrollBox, seen.length ? h('ul', {}, seen.map((c) => h('li', {}, h('a', { href: `#/campaigns/${c}` }, c)))) : h('p', { class: 'muted' }, 'No campaign has messaged this lead yet.'));
    }
  } catch (e) {
    clear(msgBox, h('p', { class: 'error' }, errorText(e)));
  }
}
