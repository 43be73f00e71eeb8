// Audit log: GET /v1/activity (cursor-paged, filterable by entity and actor).
import { api, qs } from '../api.js';
import { h, clear, field, fmtTime, errorText } from '../ui.js';
import { scope } from '../app.js';

export async function list(main) {
  const type = h('select', { id: 'a-type' }, ['', 'campaign', 'lead', 'sync', 'client', 'token'].map((t) => h('option', { value: t }, t || 'any')));
  const entity = h('input', { type: 'text', id: 'a-entity', placeholder: 'uuid' });
  const actor = h('input', { type: 'text', id: 'a-actor' });
  const form = h('form', { class: 'card row', id: 'audit-filters' }, field('Entity type', type, 'entity_type'), field('Entity id', entity, 'entity_id'),
    field('Actor', actor, 'actor'), h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Apply')));
  const tbody = h('tbody', { id: 'audit-body' });
  const msg = h('p', { class: 'muted', role: 'status', id: 'audit-msg' });
  const more = h('button', { type: 'button', hidden: true }, 'Next page');
  clear(main, h('h1', {}, 'Audit log'), form,
    h('table', {}, h('thead', {}, h('tr', {}, ['When', 'Actor', 'Action', 'Entity', 'Details'].map((t) => h('th', { scope: 'col' }, t)))), tbody), msg, more);
  let cursor = null;
  async function load(reset) {
    if (reset) { cursor = null; clear(tbody); }
    try {
      const r = await api('GET', '/v1/activity' + qs({ ...scope(), entity_type: type.value, entity_id: entity.value.trim(), actor: actor.value.trim(), cursor }));
      for (const a of r.data || []) {
        tbody.append(h('tr', {}, h('td', {}, fmtTime(a.created_at || a.at)), h('td', {}, a.actor), h('td', {}, a.action),
          h('td', {}, `${a.entity_type || a.entity} ${a.entity_id || ''}`), h('td', {}, h('code', {}, JSON.stringify(a.details || {})))));
      }
      cursor = r.next_cursor;
      more.hidden = !cursor;
      msg.textContent = tbody.children.length ? '' : 'No activity matches.';
    } catch (e) {
      msg.textContent = e.status === 404 ? 'The audit log is not available from this API yet (GET /v1/activity).' : errorText(e);
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(true); });
  more.addEventListener('click', () => load(false));
  await load(true);
}
