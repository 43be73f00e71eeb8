// New campaign: audience with a debounced live count, steps with the
// server's analysis and AI drafts, schedule in the client's zone, one
// Idempotency-Key per form instance, server errors next to their fields.
import { api, ApiError } from '../api.js';
import { h, clear, field, showFieldError, clearFieldErrors, errorText, debounce, uid } from '../ui.js';
import { state, isSuper, guardLeave, clientTimezone } from '../app.js';

const LEVELS = ['unknown', 'low', 'medium', 'high'];

// zoneOffset is the offset (ms) of zone tz at instant t.
function zoneOffset(t, tz) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t)).map((p) => [p.type, p.value]));
  const asUTC = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
  return asUTC - Math.floor(t / 1000) * 1000;
}

// zonedToUTC reads a datetime-local value as a wall time in tz.
export function zonedToUTC(local, tz) {
  const m = local.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/);
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let t = wall - zoneOffset(wall, tz);
  t = wall - zoneOffset(t, tz);
  return new Date(t);
}

// tagInput is free entry plus suggestions, deduplicated case-insensitively.
function tagInput(known) {
  const tags = [];
  const listId = uid('tags');
  const chips = h('span', { class: 'chips', id: 'tag-chips' });
  const input = h('input', { type: 'text', id: 'tag-entry', list: listId, placeholder: 'type a tag, Enter to add', autocomplete: 'off' });
  const datalist = h('datalist', { id: listId }, known.map((t) => h('option', { value: t })));
  const wrap = h('div', { class: 'chips' }, chips, input, datalist);
  const changed = [];
  function render() {
    clear(chips, tags.map((t, i) => h('span', { class: 'chip' }, t,
      h('button', { type: 'button', 'aria-label': `Remove tag ${t}`, onclick: () => { tags.splice(i, 1); render(); changed.forEach((f) => f()); } }, '×'))));
  }
  function add(raw) {
    for (const part of raw.split(',')) {
      const t = part.trim();
      if (t && !tags.some((x) => x.toLowerCase() === t.toLowerCase())) tags.push(t);
    }
    input.value = '';
    render();
    changed.forEach((f) => f());
  }
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ',') { e.preventDefault(); add(input.value); }
  });
  input.addEventListener('change', () => { if (input.value.trim()) add(input.value); });
  return { el: wrap, input, tags, add, onChange: (f) => changed.push(f), value: () => { if (input.value.trim()) add(input.value); return [...tags]; } };
}

export async function form(main) {
  const idemKey = crypto.randomUUID();
  const tz = clientTimezone();
  const zone = tz || Intl.DateTimeFormat().resolvedOptions().timeZone;
  let dirty = false;
  let analyzeMissing = false;

  // Known tags: from the client's newest leads (no tags endpoint).
  let known = [];
  try {
    const q = new URLSearchParams({ limit: '200' });
    if (isSuper() && state.clientId) q.set('client_id', state.clientId);
    const r = await api('GET', '/v1/leads?' + q);
    known = [...new Map((r.data || []).flatMap((l) => l.tags || []).map((t) => [t.toLowerCase(), t])).values()].sort();
  } catch { /* free entry only */ }

  const name = h('input', { type: 'text', id: 'c-name', maxlength: 100, required: true });
  const tags = tagInput(known);
  const icpMin = h('input', { type: 'number', id: 'c-icp-min', min: 0, max: 100 });
  const icpMax = h('input', { type: 'number', id: 'c-icp-max', min: 0, max: 100 });
  const after = h('input', { type: 'date', id: 'c-after' });
  const before = h('input', { type: 'date', id: 'c-before' });
  const levels = LEVELS.map((l) => h('input', { type: 'checkbox', id: `c-level-${l}`, value: l }));
  const levelBox = h('fieldset', { id: 'c-levels', 'data-field': 'engagement_levels', 'aria-describedby': 'c-levels-err' },
    h('legend', {}, 'Engagement levels (none: any)'), levels.map((cb, i) => h('label', { class: 'inline', for: cb.id }, cb, LEVELS[i])));
  const count = h('p', { id: 'audience-count', role: 'status', 'aria-live': 'polite', class: 'muted' }, 'Counting…');
  const startAt = h('input', { type: 'datetime-local', id: 'c-start' });
  const startUTC = h('p', { id: 'start-utc', class: 'muted', role: 'status' }, 'Empty: starts as soon as it is created.');
  const maxLeads = h('input', { type: 'number', id: 'c-max', min: 1 });
  const booking = h('input', { type: 'url', id: 'c-booking', placeholder: 'https://calendly.com/…' });
  const stopOnReply = h('input', { type: 'checkbox', id: 'c-stop', checked: true });
  const steps = h('div', { id: 'steps' });
  const aiAudience = h('input', { type: 'text', id: 'ai-audience', placeholder: 'e.g. dental patients who attended the webinar' });
  const aiTone = h('input', { type: 'text', id: 'ai-tone', placeholder: 'e.g. friendly' });
  const formErr = h('p', { class: 'error', id: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'create-campaign', 'data-write': '1' }, 'Create campaign');

  const clientField = isSuper() && !state.clientId
    ? h('p', { class: 'error' }, 'Pick a client in the header first (super admin).') : null;

  const formEl = h('form', { id: 'campaign-form', novalidate: true },
    h('h1', {}, 'New campaign'), clientField,
    h('div', { class: 'card' }, field('Name', name, 'name')),
    h('div', { class: 'card', id: 'audience', 'data-field': 'audience', tabindex: '-1' }, h('h2', {}, 'Audience'),
      field('Tags (any of)', tags.input, 'target_tags'),
      h('div', { class: 'row' }, field('ICP score at least', icpMin, 'icp_min'), field('ICP score at most', icpMax, 'icp_max'),
        field('Created on or after', after, 'created_after'), field('Created before', before, 'created_before')),
      levelBox, h('p', { class: 'field-error', id: 'c-levels-err' }), count, h('p', { class: 'field-error', id: 'audience-err' })),
    h('div', { class: 'card' }, h('h2', {}, 'Messages'),
      h('div', { class: 'row' }, field('Who the audience is (for AI drafts)', aiAudience, 'target_audience'), field('Tone (for AI drafts; empty: the default)', aiTone, 'tone')),
      steps,
      h('button', { type: 'button', id: 'add-step', onclick: () => { addStep(); markDirty(); } }, 'Add step')),
    h('div', { class: 'card' }, h('h2', {}, 'Schedule and limits'),
      field(`Start at (${zone}${tz ? ', the client\'s time zone' : ', your browser\'s: the client\'s zone is unknown'})`, startAt, 'start_at'), startUTC,
      field('Enrollment cap (max leads; empty: no cap)', maxLeads, 'max_leads'),
      field('Booking link ({{booking_link}})', booking, 'booking_link'),
      h('label', { class: 'inline', for: 'c-stop' }, stopOnReply, 'A reply stops the sequence')),
    formErr, h('div', { class: 'actions' }, submit));
  // The tag entry's field() wrapper holds the input; put the chips before it.
  const tagInputEl = formEl.querySelector('#tag-entry');
  tagInputEl.parentNode.insertBefore(tags.el, tagInputEl);
  tags.el.insertBefore(tagInputEl, tags.el.querySelector('datalist'));
  clear(main, formEl);

  function markDirty() { dirty = true; }
  formEl.addEventListener('input', markDirty);
  guardLeave(() => !dirty || window.confirm('Leave this page? The campaign is not saved.'));

  const dateISO = (d) => (d ? new Date(d + 'T00:00:00').toISOString() : undefined);
  const num = (el) => (el.value === '' ? undefined : Number(el.value));
  function audience() {
    const a = {};
    if (isSuper() && state.clientId) a.client_id = state.clientId;
    const t = tags.value();
    if (t.length) a.target_tags = t;
    if (num(icpMin) !== undefined) a.icp_min = num(icpMin);
    if (num(icpMax) !== undefined) a.icp_max = num(icpMax);
    if (after.value) a.created_after = dateISO(after.value);
    if (before.value) a.created_before = dateISO(before.value);
    const lv = levels.filter((c) => c.checked).map((c) => c.value);
    if (lv.length) a.engagement_levels = lv;
    return a;
  }

  let previewSeq = 0;
  const preview = debounce(async () => {
    const seq = ++previewSeq;
    count.textContent = 'Counting…';
    for (const el of formEl.querySelectorAll('#c-icp-min, #c-icp-max, #c-after, #c-before, #c-levels, #tag-entry')) {
      el.removeAttribute('aria-invalid');
      const err = document.getElementById(el.id + '-err');
      if (err) err.textContent = '';
    }
    try {
      const r = await api('POST', '/v1/campaigns/preview', audience());
      if (seq !== previewSeq) return;
      count.textContent = `${r.matching} leads match, ${r.eligible} eligible now.`;
      count.dataset.matching = r.matching;
      count.dataset.eligible = r.eligible;
    } catch (e) {
      if (seq !== previewSeq) return;
      // The server's own audience rules, shown as the admin types.
      const f = e.details && e.details.field;
      delete count.dataset.matching;
      delete count.dataset.eligible;
      if (e.status === 400 && f && f !== 'audience' && showFieldError(formEl, f.replace(/\[\d+\]$/, ''), e.message)) {
        count.textContent = 'Fix the audience to see the count.';
      } else {
        count.textContent = e.status === 400 ? e.message : 'Count unavailable: ' + errorText(e);
      }
    }
  }, 400);
  for (const el of [icpMin, icpMax, after, before, ...levels]) el.addEventListener('input', preview);
  tags.onChange(preview);
  preview();

  function showStart() {
    if (!startAt.value) { startUTC.textContent = 'Empty: starts as soon as it is created.'; return; }
    const d = zonedToUTC(startAt.value, zone);
    startUTC.textContent = d ? `= ${d.toISOString().replace('.000Z', 'Z')} UTC` : '';
  }
  startAt.addEventListener('input', showStart);

  function addStep(body = '', delay = 0) {
    const i = steps.children.length;
    const ta = h('textarea', { id: `step-${i}-body`, maxlength: 1600, rows: 3 }, body);
    const delayIn = h('input', { type: 'number', id: `step-${i}-delay`, min: 0, value: String(i === 0 ? 0 : delay || 1440) });
    const info = h('p', { class: 'analysis', id: `step-${i}-analysis`, role: 'status' }, 'Type a message to see its encoding, segments and cost.');
    const goal = h('input', { type: 'text', id: `step-${i}-goal`, placeholder: 'e.g. book a consultation' });
    goal.dataset.field = 'goal';
    const aiOut = h('p', { class: 'analysis', id: `step-${i}-ai`, role: 'status' });
    const aiBtn = h('button', { type: 'button', id: `step-${i}-draft`, 'data-write': '1' }, 'Draft with AI');
    const del = h('button', { type: 'button', 'aria-label': `Remove step ${i + 1}` }, 'Remove step');
    const card = h('div', { class: 'card step', 'data-step': i },
      h('h3', {}, `Step ${i + 1}`),
      field(`Step ${i + 1} message`, ta, `messages[${i}].body`), info,
      field(i === 0 ? 'Delay after the start (minutes)' : 'Delay after the previous step (minutes)', delayIn, `messages[${i}].delay_minutes`),
      h('div', { class: 'row' }, field(`Goal of step ${i + 1} (for the AI draft)`, goal, 'goal'), h('div', {}, aiBtn, ' ', del)), aiOut);
    steps.append(card);
    const analyze = debounce(async () => {
      if (analyzeMissing) return;
      if (!ta.value) { info.textContent = 'Type a message to see its encoding, segments and cost.'; return; }
      try {
        const a = await api('POST', '/v1/messages/analyze', { text: ta.value });
        const cost = a.estimated_cost ?? a.cost_per_recipient ?? a.cost;
        info.textContent = `${a.characters} characters · ${a.encoding} · ${a.segments} segment${a.segments === 1 ? '' : 's'}` +
          (cost !== undefined ? ` · $${Number(cost).toFixed(4)} per recipient` : '') +
          ((a.non_gsm || []).length ? ` · UCS-2 because of ${a.non_gsm.join(' ')}` : '') + ((a.warnings || []).length ? ` · ${a.warnings.join('; ')}` : '');
        info.dataset.segments = a.segments;
        info.dataset.encoding = a.encoding;
      } catch (e) {
        if (e.status === 404 || e.status === 405) {
          analyzeMissing = true;
          document.querySelectorAll('.analysis[id$="-analysis"]').forEach((el) => { el.textContent = 'Live analysis is not available from this API yet (POST /v1/messages/analyze); the server checks the text on submit.'; });
        } else {
          info.textContent = 'Analysis unavailable: ' + errorText(e);
        }
      }
    }, 300);
    ta.addEventListener('input', analyze);
    if (body) analyze();
    let drafting = false;
    aiBtn.addEventListener('click', async () => {
      if (drafting) return;
      drafting = true;
      aiBtn.disabled = true;
      aiOut.textContent = 'Drafting…';
      clearFieldErrors(card);
      const req = { campaign_name: name.value.trim(), goal: goal.value.trim(), booking_link: booking.value.trim(),
        target_audience: aiAudience.value.trim() || (tags.tags.length ? `leads tagged ${tags.tags.join(', ')}` : ''), tone: aiTone.value.trim() || undefined };
      if (isSuper() && state.clientId) req.client_id = state.clientId;
      try {
        // A little longer than the API waits before it answers with the
        // template; past that the request is lost (network, proxy), and a
        // retry is a new draft (the API has no idempotency key for drafts).
        const waitS = (state.me && state.me.draft_timeout_seconds) || 100;
        const r = await api('POST', '/v1/messages/generate', req, { timeout: waitS * 1000 });
        ta.value = r.message;
        markDirty();
        analyze();
        aiOut.textContent = r.is_template ? 'The template was used (no model answered in time).' : `Drafted by ${r.model_used}.`;
        aiOut.dataset.model = r.model_used;
        delete aiOut.dataset.failed;
        aiBtn.textContent = 'Draft again';
      } catch (e) {
        const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
        const lost = !(e instanceof ApiError);
        const f = e.details && e.details.field;
        const msg = f && !String(e.message).startsWith(f) ? `${f} ${e.message}` : e.message;
        aiOut.textContent = timedOut ? 'The draft timed out — retry: the button asks for a new draft.'
          : lost ? `The draft did not reach the server (${e.message}) — retry: the button asks for a new draft.` : `Draft refused: ${msg}`;
        aiOut.dataset.failed = timedOut ? 'timeout' : lost ? 'network' : 'refused';
        // The refused input, next to its field: the step's goal, or the form's.
        if (f === 'campaign_name') showFieldError(formEl, 'name', msg);
        else if (f && !showFieldError(card, f, msg)) showFieldError(formEl, f, msg);
        aiBtn.textContent = 'Retry draft';
      } finally {
        drafting = false;
        aiBtn.disabled = false;
      }
    });
    del.addEventListener('click', () => {
      const all = [...steps.children].map((c) => ({ body: c.querySelector('textarea').value, delay: c.querySelector('input[type=number]').value }));
      all.splice(i, 1);
      clear(steps);
      all.forEach((s) => addStep(s.body, s.delay));
      markDirty();
    });
  }
  addStep();

  function showErrors(e) {
    const f = e.details && e.details.field;
    if (f) {
      for (const candidate of [f, f.replace(/\[\d+\]$/, ''), f.split('.')[0], f.split('[')[0]]) {
        if (showFieldError(formEl, candidate, e.message)) {
          const el = formEl.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
          if (el && el.focus) el.focus();
          return;
        }
      }
    }
    formErr.textContent = errorText(e);
  }

  let submitting = false;
  formEl.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // Enter in the tag entry adds the tag; it does not submit (the
    // datalist's popup can swallow the keydown before our handler sees it).
    if (document.activeElement === tags.input) {
      if (tags.input.value.trim()) tags.add(tags.input.value);
      return;
    }
    // Locked before anything else: any number of clicks makes one request.
    if (submitting) return;
    submitting = true;
    submit.disabled = true;
    submit.textContent = 'Creating…';
    clearFieldErrors(formEl);
    formErr.textContent = '';
    try {
      const body = { ...audience(), name: name.value.trim(), stop_on_reply: stopOnReply.checked,
        messages: [...steps.children].map((c) => ({ body: c.querySelector('textarea').value, delay_minutes: Number(c.querySelector('input[type=number]').value || 0) })) };
      if (startAt.value) {
        const d = zonedToUTC(startAt.value, zone);
        if (!d) { showFieldError(formEl, 'start_at', 'start_at: enter a date and time'); throw null; }
        body.start_at = d.toISOString();
      }
      if (num(maxLeads) !== undefined) body.max_leads = num(maxLeads);
      if (booking.value.trim()) body.booking_link = booking.value.trim();
      const camp = await api('POST', '/v1/campaigns', body, { headers: { 'Idempotency-Key': idemKey } });
      dirty = false;
      guardLeave(null);
      location.hash = `#/campaigns/${camp.id}`;
    } catch (e) {
      if (e) showErrors(e);
      submitting = false;
      submit.disabled = false;
      submit.textContent = 'Create campaign';
    }
  });
}
