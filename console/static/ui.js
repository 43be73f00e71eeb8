// Small DOM helpers: elements are built with h(), never from HTML strings,
// so no text from the API is ever parsed as markup.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let seq = 0;
export const uid = (p) => `${p}-${++seq}`;

// field is a labelled input with its error slot; name is the API field
// (details.field) it answers for.
export function field(label, input, name, hint) {
  const id = input.id || uid('f');
  input.id = id;
  const err = h('p', { class: 'field-error', id: id + '-err', 'data-error-for': name || '' });
  if (name) input.dataset.field = name;
  input.setAttribute('aria-describedby', id + '-err');
  return h('div', {}, h('label', { for: id }, label), input, hint ? h('div', { class: 'muted' }, hint) : null, err);
}

// showFieldError puts msg next to the input whose data-field is name;
// false when the form has no such field.
export function showFieldError(root, name, msg) {
  const input = root.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!input) return false;
  input.setAttribute('aria-invalid', 'true');
  const err = document.getElementById(input.id + '-err');
  if (err) err.textContent = msg;
  return true;
}

export function clearFieldErrors(root) {
  root.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
  root.querySelectorAll('.field-error').forEach((el) => { el.textContent = ''; });
}

export function fmtTime(s) {
  if (!s) return '—';
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString();
}

export const badge = (s) => h('span', { class: 'badge ' + (s || '') }, s || '—');

// confirm opens the confirmation dialog; with opts.typeToConfirm the OK
// button stays disabled until that exact text is typed. Resolves true/false.
export function confirmDialog(text, opts = {}) {
  const dlg = document.getElementById('confirm');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  const extra = document.getElementById('confirm-extra');
  document.getElementById('confirm-title').textContent = opts.title || 'Confirm';
  document.getElementById('confirm-text').textContent = text;
  ok.textContent = opts.okText || 'Confirm';
  ok.className = opts.danger ? 'danger' : 'primary';
  clear(extra);
  let input = null;
  if (opts.typeToConfirm !== undefined) {
    input = h('input', { type: 'text', id: 'confirm-input', autocomplete: 'off', inputmode: 'numeric' });
    extra.append(h('label', { for: 'confirm-input' }, `Type ${opts.typeToConfirm} to confirm`), input);
    ok.disabled = true;
    input.addEventListener('input', () => { ok.disabled = input.value.trim() !== String(opts.typeToConfirm); });
  } else {
    ok.disabled = false;
  }
  if (opts.extra) extra.append(opts.extra);
  return new Promise((resolve) => {
    const done = (v) => {
      ok.removeEventListener('click', onOK);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onCancel);
      dlg.close();
      resolve(v);
    };
    const onOK = (e) => { e.preventDefault(); if (!ok.disabled) done(true); };
    const onCancel = (e) => { e.preventDefault(); done(false); };
    ok.addEventListener('click', onOK);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    (input || cancel).focus();
  });
}

export function errorText(e) {
  if (!e) return '';
  const rid = e.requestId ? ` (request ${e.requestId})` : '';
  return (e.message || String(e)) + rid;
}

export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}
