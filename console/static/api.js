// The console's only way to the server: the public JSON API, with the
// session cookie (sent by the browser, never readable here) and the CSRF
// token kept in memory only.
let csrf = '';
let onUnauthenticated = () => {};

export function setCSRF(token) { csrf = token || ''; }
export function onSignedOut(fn) { onUnauthenticated = fn; }

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.details = e.details || {};
    this.requestId = e.request_id || '';
  }
}

// api calls method path with an optional JSON body; resolves with the
// decoded body, rejects with an ApiError. opts: headers, signal, timeout (ms).
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let signal = opts.signal;
  let timer;
  if (opts.timeout) {
    const ctl = new AbortController();
    timer = setTimeout(() => ctl.abort(new DOMException('timed out', 'TimeoutError')), opts.timeout);
    if (signal) signal.addEventListener('abort', () => ctl.abort(signal.reason));
    signal = ctl.signal;
  }
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && !opts.quiet401) onUnauthenticated(err);
    throw err;
  }
  return data;
}

// qs builds a query string from the non-empty values of obj.
export function qs(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, v);
  }
  const s = p.toString();
  return s ? '?' + s : '';
}
