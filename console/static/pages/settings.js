// Settings: the client's settings (GET/PATCH /v1/clients/{id}) and its
// tokens (GET/POST/DELETE /v1/tokens). Endpoints this API does not have yet
// answer 404: the page says so and keeps the rest.
import { api, qs } from '../api.js';
import { h, clear, field, fmtTime, errorText, showFieldError, clearFieldErrors, confirmDialog } from '../ui.js';
import { state, canWrite, isSuper, loadClient } from '../app.js';

const SETTINGS = [
  ['timezone', 'Time zone (IANA)', 'text'], ['airtable_base_id', 'Airtable base', 'text'], ['airtable_table', 'Airtable table', 'text'],
  ['alert_webhook_url', 'Alert webhook URL', 'url'], ['alert_email', 'Alert e-mail', 'email'], ['help_text', 'HELP reply text', 'text'],
  ['program_name', 'Program name', 'text'], ['contact', 'Contact', 'text'],
];

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const clock = (m) => (m === undefined || m === null ? '' : `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);

export async function page(main) {
  const clientBox = h('div', { id: 'client-settings' });
  const tokenBox = h('div', { id: 'tokens' });
  clear(main, h('h1', {}, 'Settings'), h('h2', {}, 'Client'), clientBox, h('h2', {}, 'Tokens'), tokenBox);
  await Promise.all([clientSettings(clientBox), tokens(tokenBox)]);
}

async function clientSettings(box) {
  if (!state.clientId) { clear(box, h('p', { class: 'muted' }, 'Pick a client in the header.')); return; }
  let c;
  try { c = await api('GET', `/v1/clients/${encodeURIComponent(state.clientId)}`); } catch (e) {
    clear(box, h('p', { class: 'muted' }, e.status === 404 || e.status === 405 ? 'Client settings are not available from this API yet (GET /v1/clients/{id}).' : errorText(e)));
    return;
  }
  const ro = !canWrite();
  const inputs = {};
  const form = h('form', { class: 'card', id: 'client-form', novalidate: true }, h('p', {}, h('strong', {}, c.name), ' · ', h('code', {}, c.id)));
  for (const [k, label, type] of SETTINGS) {
    inputs[k] = h('input', { type, id: `s-${k}`, value: c[k] ?? '', disabled: ro });
    form.append(field(label, inputs[k], k));
  }
  inputs.quiet_start = h('input', { type: 'time', id: 's-quiet-start', value: clock(c.quiet_start_minutes), disabled: ro });
  inputs.quiet_end = h('input', { type: 'time', id: 's-quiet-end', value: clock(c.quiet_end_minutes), disabled: ro });
  form.append(h('div', { class: 'row' }, field('Sending window: from', inputs.quiet_start, 'quiet_hours.start'), field('until', inputs.quiet_end, 'quiet_hours.end')));
  const dayBoxes = DAYS.map((d, i) => h('input', { type: 'checkbox', id: `s-day-${d}`, value: d, checked: ((c.send_days ?? 127) & (1 << i)) !== 0, disabled: ro }));
  form.append(h('fieldset', { id: 's-days', 'data-field': 'quiet_hours.days', 'aria-describedby': 's-days-err' }, h('legend', {}, 'Sending days'),
    dayBoxes.map((b, i) => h('label', { class: 'inline', for: b.id }, b, DAYS[i]))), h('p', { class: 'field-error', id: 's-days-err' }));
  inputs.max_per_day = h('input', { type: 'number', id: 's-max-per-day', min: 1, max: 50, value: String(c.max_per_day ?? ''), disabled: ro });
  form.append(field('Messages per lead per day (at most)', inputs.max_per_day, 'max_per_day'));
  inputs.disabled = h('input', { type: 'checkbox', id: 's-disabled', checked: c.disabled, disabled: ro || !isSuper() });
  form.append(h('label', { class: 'inline', for: 's-disabled' }, inputs.disabled, 'Disabled (its tokens and sessions stop working)'));
  const msg = h('p', { role: 'alert' });
  if (!ro) form.append(h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'save-client', 'data-write': '1' }, 'Save')));
  form.append(msg);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    const patch = {};
    for (const [k] of SETTINGS) if (inputs[k].value !== (c[k] ?? '')) patch[k] = inputs[k].value;
    const days = dayBoxes.filter((b) => b.checked).map((b) => b.value);
    const daysMask = dayBoxes.reduce((m, b, i) => m | (b.checked ? 1 << i : 0), 0);
    if (inputs.quiet_start.value !== clock(c.quiet_start_minutes) || inputs.quiet_end.value !== clock(c.quiet_end_minutes) || daysMask !== (c.send_days ?? 127)) {
      // The window is one value: send all of it (days included, or a
      // changed time would reopen every day).
      patch.quiet_hours = { start: inputs.quiet_start.value, end: inputs.quiet_end.value, days };
    }
    if (inputs.max_per_day.value !== String(c.max_per_day ?? '')) patch.max_per_day = Number(inputs.max_per_day.value);
    if (!Object.keys(patch).length) { msg.className = 'muted'; msg.textContent = 'Nothing changed.'; return; }
    if (isSuper() && inputs.disabled.checked !== c.disabled) patch.disabled = inputs.disabled.checked;
    try {
      c = await api('PATCH', `/v1/clients/${encodeURIComponent(c.id)}`, patch);
      msg.className = 'ok';
      msg.textContent = 'Saved.';
      await loadClient();
    } catch (ex) {
      msg.className = 'error';
      const f = ex.details && ex.details.field;
      if (!(f && (showFieldError(form, f, ex.message) || showFieldError(form, f.split('.')[0], ex.message)))) msg.textContent = errorText(ex);
    }
  });
  clear(box, form);
}

async function tokens(box) {
  const tbody = h('tbody', { id: 'tokens-body' });
  const msg = h('p', { role: 'alert', id: 'tokens-msg' });
  const parts = [msg];
  let listed = true;
  try {
    const r = await api('GET', '/v1/tokens' + qs(isSuper() && state.clientId ? { client_id: state.clientId } : {}));
    for (const t of r.data || []) {
      tbody.append(h('tr', { 'data-token': t.id }, h('td', {}, t.name || '—'), h('td', {}, t.role), h('td', {}, fmtTime(t.created_at)),
        h('td', {}, t.revoked_at ? `revoked ${fmtTime(t.revoked_at)}` : 'live'),
        h('td', {}, canWrite() && !t.revoked_at ? h('button', { type: 'button', class: 'danger', 'data-write': '1', onclick: () => revoke(t) }, 'Revoke') : null)));
    }
  } catch (e) {
    listed = false;
    msg.textContent = e.status === 404 || e.status === 405 ? 'Listing tokens is not available from this API yet (GET /v1/tokens).'
      : e.status === 403 ? 'Viewers do not see the tokens.' : errorText(e);
  }
  if (listed) parts.push(h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Role', 'Created', 'State', ''].map((t) => h('th', {}, t)))), tbody));
  async function revoke(t) {
    if (!(await confirmDialog(`Revoke the token “${t.name || t.id}”? Anything using it (and its console sessions) stops working at once.`, { title: 'Revoke token', okText: 'Revoke', danger: true }))) return;
    try {
      await api('DELETE', `/v1/tokens/${encodeURIComponent(t.id)}`);
      msg.className = 'ok';
      msg.textContent = 'Revoked.';
      tokens(box);
    } catch (e) { msg.className = 'error'; msg.textContent = errorText(e); }
  }
  // Creating tokens is super_admin only in this API.
  if (isSuper()) {
    const name = h('input', { type: 'text', id: 't-name', maxlength: 100 });
    const role = h('select', { id: 't-role' }, ['client_admin', 'client_viewer', 'super_admin'].map((r) => h('option', { value: r }, r)));
    const out = h('div', { id: 'new-token' });
    const form = h('form', { class: 'card row', id: 'token-form', novalidate: true }, field('Name', name, 'name'), field('Role', role, 'role'),
      h('div', {}, h('button', { type: 'submit', class: 'primary', 'data-write': '1' }, 'Create token')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearFieldErrors(form);
      clear(out);
      const body = { name: name.value.trim(), role: role.value };
      if (role.value !== 'super_admin') {
        if (!state.clientId) { clear(out, h('p', { class: 'error' }, 'Pick a client in the header for a client token.')); return; }
        body.client_id = state.clientId;
      }
      try {
        const t = await api('POST', '/v1/tokens', body);
        clear(out, h('div', { class: 'card' }, h('p', {}, 'The new token, shown once (copy it now):'), h('pre', { id: 'new-token-value' }, t.token)));
        name.value = '';
      } catch (ex) {
        const f = ex.details && ex.details.field;
        if (!(f && showFieldError(form, f, ex.message))) clear(out, h('p', { class: 'error' }, errorText(ex)));
      }
    });
    parts.push(h('h3', {}, 'New token'), form, out);
  }
  clear(box, ...parts);
}
