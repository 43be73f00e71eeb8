// The console shell: sign-in, the session, the client in view, the
// readiness banner and the hash router. Pages live in pages/*.js.
import { api, setCSRF, onSignedOut, qs } from './api.js';
import { h, clear, errorText } from './ui.js';
import * as leads from './pages/leads.js';
import * as campaignNew from './pages/campaign_new.js';
import * as campaigns from './pages/campaigns.js';
import * as syncs from './pages/syncs.js';
import * as audit from './pages/audit.js';
import * as settings from './pages/settings.js';

// state is what every page reads: the session (role, client_id), /v1/me
// when the API has it, and the client in view.
export const state = {
  session: null,
  me: null,
  clients: null, // [{id, name, timezone}] when GET /v1/clients exists
  clientId: '',
  client: null, // GET /v1/clients/{id} when it exists
  ready: null,
};

export const canWrite = () => !!state.session && state.session.role !== 'client_viewer';
export const isSuper = () => !!state.session && state.session.role === 'super_admin';
// scope is the client_id query parameter for list endpoints (super_admin only).
export const scope = () => (isSuper() && state.clientId ? { client_id: state.clientId } : {});

const routes = [
  { re: /^#\/leads\/([^/]+)$/, page: leads.detail, nav: 'leads' },
  { re: /^#\/leads$/, page: leads.list, nav: 'leads' },
  { re: /^#\/campaigns\/new$/, page: campaignNew.form, nav: 'new', write: true },
  { re: /^#\/campaigns\/([^/]+)$/, page: campaigns.detail, nav: 'campaigns' },
  { re: /^#\/campaigns$/, page: campaigns.list, nav: 'campaigns' },
  { re: /^#\/syncs\/([^/]+)$/, page: syncs.detail, nav: 'syncs' },
  { re: /^#\/syncs$/, page: syncs.list, nav: 'syncs' },
  { re: /^#\/audit$/, page: audit.list, nav: 'audit' },
  { re: /^#\/settings$/, page: settings.page, nav: 'settings' },
];

// leave is the current page's unsaved-changes check (a function returning
// true when it may be left), or null.
let leave = null;
export function guardLeave(fn) { leave = fn; }
let cleanup = [];
// onLeave registers a function run when the page is left (stop polling).
export function onLeave(fn) { cleanup.push(fn); }

let lastHash = location.hash;
window.addEventListener('hashchange', () => {
  if (leave && !leave()) {
    history.replaceState(null, '', lastHash);
    return;
  }
  route();
});
window.addEventListener('beforeunload', (e) => {
  if (leave && !leave()) { e.preventDefault(); e.returnValue = ''; }
});

onSignedOut(() => {
  if (state.session) { state.session = null; setCSRF(''); leave = null; render(); }
});

async function boot() {
  try {
    const s = await api('GET', '/v1/session', undefined, { quiet401: true });
    await signedIn(s);
  } catch {
    state.session = null;
  }
  render();
  checkReady();
  setInterval(checkReady, 30000);
}

async function signedIn(s) {
  state.session = s;
  setCSRF(s.csrf_token);
  state.me = null;
  try { state.me = await api('GET', '/v1/me'); } catch { /* not in this API yet */ }
  state.clientId = s.client_id || sessionStorage.getItem('nurture.client') || '';
  if (isSuper()) {
    try {
      const r = await api('GET', '/v1/clients' + qs({ limit: 500 }));
      state.clients = r.data || [];
      if (!state.clientId && state.clients.length) state.clientId = state.clients[0].id;
    } catch { state.clients = null; }
  }
  await loadClient();
}

export async function loadClient() {
  state.client = null;
  if (!state.clientId) return;
  try { state.client = await api('GET', `/v1/clients/${encodeURIComponent(state.clientId)}`); } catch { /* fallback below */ }
  if (!state.client && state.clients) state.client = state.clients.find((c) => c.id === state.clientId) || null;
  if (!state.client && state.me && state.me.client_id === state.clientId) {
    state.client = { id: state.clientId, name: state.me.client_name };
  }
}

// clientTimezone is the client's IANA zone, or the browser's when unknown.
export function clientTimezone() {
  return (state.client && state.client.timezone) || null;
}

export function temporalLink(workflowId) {
  const base = (state.me && state.me.temporal_ui_url) || (state.session && state.session.temporal_ui_url) || '';
  const ns = (state.me && state.me.temporal_namespace) || (state.session && state.session.temporal_namespace) || 'default';
  if (!base || !workflowId) return null;
  return `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(ns)}/workflows/${encodeURIComponent(workflowId)}`;
}

async function checkReady() {
  let checks = null;
  try {
    const r = await fetch('/readyz', { cache: 'no-store' });
    const b = await r.json().catch(() => null);
    checks = r.ok ? (b && b.checks) : (b && b.error && b.error.details);
    if (!r.ok && !checks) checks = { api: 'unavailable' };
  } catch {
    checks = { api: 'unreachable' };
  }
  state.ready = checks || {};
  const names = { temporal: 'Temporal (workflows: campaign activation, syncs, drafting)', postgres: 'Postgres', llm: 'the LLM (AI drafts fall back to the template)', airtable: 'Airtable (syncs)', api: 'the API' };
  const bad = Object.entries(state.ready).filter(([, v]) => v !== 'ok' && v !== 'not configured' && v !== 'disabled');
  const banner = document.getElementById('banner');
  clear(banner, bad.length ? `Degraded: ${bad.map(([k, v]) => `${names[k] || k} is ${v}`).join('; ')}. The rest of the console keeps working.` : '');
}

function nav() {
  const top = document.getElementById('top');
  const cur = (routes.find((r) => r.re.test(location.hash)) || {}).nav;
  const link = (href, key, text) => h('a', { href, 'aria-current': cur === key ? 'page' : null }, text);
  const s = state.session;
  let picker = null;
  if (isSuper()) {
    if (state.clients) {
      picker = h('select', { id: 'client-picker', 'aria-label': 'Client', onchange: (e) => pickClient(e.target.value) },
        h('option', { value: '' }, 'All clients'),
        state.clients.map((c) => h('option', { value: c.id, selected: c.id === state.clientId }, c.name)));
      picker.value = state.clientId;
    } else {
      picker = h('input', { id: 'client-picker', type: 'text', 'aria-label': 'Client ID', placeholder: 'client id (uuid)', value: state.clientId,
        onchange: (e) => pickClient(e.target.value.trim()) });
    }
  }
  const clientName = (state.client && state.client.name) || (state.me && state.me.client_name) || '';
  clear(top,
    h('span', { class: 'brand' }, 'Nurture'),
    h('nav', { 'aria-label': 'Main' },
      link('#/leads', 'leads', 'Leads'), ' ',
      canWrite() ? [link('#/campaigns/new', 'new', 'New campaign'), ' '] : null,
      link('#/campaigns', 'campaigns', 'Campaigns'), ' ',
      link('#/syncs', 'syncs', 'Syncs'), ' ',
      link('#/audit', 'audit', 'Audit log'), ' ',
      link('#/settings', 'settings', 'Settings')),
    h('div', { class: 'who' },
      picker ? h('label', { for: 'client-picker', class: 'inline' }, 'Client', picker) : h('span', { id: 'client-name' }, clientName),
      h('span', { id: 'role' }, s.role.replace('_', ' ')),
      h('button', { type: 'button', id: 'signout', onclick: signOut }, 'Sign out')));
}

async function pickClient(id) {
  if (leave && !leave()) { nav(); return; }
  leave = null;
  state.clientId = id;
  sessionStorage.setItem('nurture.client', id);
  await loadClient();
  route();
}

async function signOut() {
  if (leave && !leave()) return;
  leave = null;
  try { await api('DELETE', '/v1/session'); } catch { /* the cookie may be gone already */ }
  state.session = null;
  setCSRF('');
  sessionStorage.removeItem('nurture.client');
  history.replaceState(null, '', '#/');
  render();
}

function signInPage() {
  const main = document.getElementById('main');
  clear(document.getElementById('top'), h('span', { class: 'brand' }, 'Nurture'));
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off', required: true, 'data-field': 'token', 'aria-describedby': 'token-err' });
  const err = h('p', { class: 'field-error', id: 'token-err', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'primary', id: 'signin' }, 'Sign in');
  const form = h('form', { class: 'card signin', id: 'signin-form' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste an API token (the one make run prints, or one from Settings → Tokens). It is exchanged for a session cookie and not kept by the browser.'),
    h('label', { for: 'token' }, 'API token'), input, err, btn);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    btn.disabled = true;
    err.textContent = '';
    try {
      const s = await api('POST', '/v1/session', { token: input.value.trim() }, { quiet401: true });
      input.value = '';
      await signedIn(s);
      if (!location.hash || location.hash === '#/') location.hash = '#/leads';
      render();
    } catch (ex) {
      err.textContent = errorText(ex);
      input.setAttribute('aria-invalid', 'true');
      btn.disabled = false;
    }
  });
  clear(main, form);
  input.focus();
}

function render() {
  if (!state.session) { signInPage(); return; }
  if (!location.hash || location.hash === '#/' || location.hash === '#') history.replaceState(null, '', '#/leads');
  route();
}

function route() {
  if (!state.session) { signInPage(); return; }
  for (const fn of cleanup) { try { fn(); } catch { /* ignore */ } }
  cleanup = [];
  leave = null;
  lastHash = location.hash;
  nav();
  const main = document.getElementById('main');
  const r = routes.find((x) => x.re.test(location.hash));
  if (!r) { clear(main, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/leads' }, 'Go to leads'))); return; }
  if (r.write && !canWrite()) { clear(main, h('h1', {}, 'Read-only'), h('p', {}, 'This token may only read.')); return; }
  const m = location.hash.match(r.re);
  clear(main, h('p', { class: 'muted' }, 'Loading…'));
  Promise.resolve(r.page(main, ...m.slice(1).map(decodeURIComponent))).catch((e) => {
    clear(main, h('h1', {}, 'Could not load this page'), h('p', { class: 'error', role: 'alert' }, errorText(e)));
  });
}

boot();
