// Audit log: GET /v1/activity (cursor-paged, filterable by entity and actor).
import { api, qs } from '../api.js';
import { h, clear, field, fmtTime, errorText, showFieldError, clearFieldErrors } from '../ui.js';
import { scope } from '../app.js';

export async function list(main) {
  const type = h('select', { id: 'a-type' }, ['', 'campaign', 'lead', 'sync', 'client', 'token', 'sms_send'].map((t) => h('option', { value: t }, t || 'any')));
  const entity = h('input', { type: 'text', id: 'a-entity', placeholder: 'uuid' });
  const actor = h('input', { type: 'text', id: 'a-actor', placeholder: 'client_admin:… or system' });
  const action = h('input', { type: 'text', id: 'a-action', placeholder: 'e.g. campaign.create' });
  const form = h('form', { class: 'card row', id: 'audit-filters', novalidate: true }, field('Entity type', type, 'entity'), field('Entity id', entity, 'entity_id'),
    field('Actor', actor, 'actor'), field('Action', action, 'action'), h('div', {}, h('button', { type: 'submit', class: 'primary', id: 'apply-audit' }, 'Apply')));
  const tbody = h('tbody', { id: 'audit-body' });
  const more = h('button', { type: 'button', hidden: true, id: 'audit-more' }, 'Next page');
  const msg = h('p', { class: 'muted', role: 'status', id: 'audit-msg' });
  clear(main, h('h1', {}, 'Audit log'), form,
    h('table', {}, h('thead', {}, h('tr', {}, ['When', 'Actor', 'Action', 'Entity', 'Details'].map((t) => h('th', { scope: 'col' }, t)))), tbody), msg, more);
  let cursor = null;
  async function load(reset) {
    if (reset) { cursor = null; clear(tbody); clearFieldErrors(form); }
    try {
      const r = await api('GET', '/v1/activity' + qs({ ...scope(), entity: type.value, entity_id: entity.value.trim(), actor: actor.value.trim(),
        action: action.value.trim(), limit: 50, cursor }));
      for (const a of r.data || []) {
        tbody.append(h('tr', { 'data-activity': a.id }, h('td', {}, fmtTime(a.created_at)), h('td', {}, a.actor), h('td', {}, a.action),
          h('td', {}, entityLink(a.entity, a.entity_id)), h('td', {}, h('code', {}, JSON.stringify(a.details || {})))));
      }
      cursor = r.next_cursor;
      more.hidden = !cursor;
      msg.textContent = tbody.children.length ? '' : 'No activity matches.';
    } catch (e) {
      const f = e.details && e.details.field;
      if (f && showFieldError(form, f, e.message)) { msg.textContent = ''; return; }
      msg.textContent = e.status === 404 ? 'The audit log is not available from this API yet (GET /v1/activity).' : errorText(e);
    }
  }
  // A row's entity links to its page where the console has one.
  function entityLink(kind, id) {
    const pages = { campaign: '#/campaigns/', lead: '#/leads/', sync: '#/syncs/' };
    return pages[kind] && id ? [kind, ' ', h('a', { href: pages[kind] + id }, id)] : `${kind || ''} ${id || ''}`;
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(true); });
  more.addEventListener('click', () => load(false));
  await load(true);
}
