// The facilitator's live view: the grid of all groups of a session, or one group's full
// transcript with the agent's decisions alongside. State comes from the facilitator socket
// (a snapshot, then events); actions go over HTTP with the sign-in's CSRF token. Every text
// from the chat is inserted with textContent, never as HTML.

import { t, timeOfDay } from './i18n.js';

const root = document.getElementById('dashboard');
const sessionId = Number(root.dataset.session);
const csrf = root.dataset.csrf;
const view = root.dataset.view;
const onlyGroup = root.dataset.group ? Number(root.dataset.group) : null;
const SVG = 'http://www.w3.org/2000/svg';
const GRID_MESSAGES = 6;
const GRID_DECISIONS = 8;
// Each child avatar (stored as its emoji) -> { src, name }: the pictures the pages draw.
const AVATARS = (() => {
  try {
    return JSON.parse(root.dataset.avatars || '{}');
  } catch {
    return {};
  }
})();

const state = { session: null, groups: new Map(), clockOffset: 0 };
// How the safety screen's decisions read on a message.
const SCREEN_LABEL = {
  redact: t('js-dash-screen-redact'),
  hold: t('js-dash-screen-hold'),
  urgent: t('js-dash-screen-urgent'),
};
const ROLE_LABEL = {
  moderator: t('js-dash-role-moderator'),
  participant: t('js-dash-role-participant'),
  none: t('js-dash-role-none'),
};
const STATUS_LABEL = {
  created: t('js-dash-status-created'),
  running: t('js-dash-status-running'),
  paused: t('js-dash-status-paused'),
  ended: t('js-dash-status-ended'),
};
// The transcript view's codebook and codings (group view only).
const coding = { coder: '', codes: [], codings: [] };
const cards = new Map();

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function words(text) {
  const t = text.trim();
  return t ? t.split(/\s+/).length : 0;
}

function clock(ms) {
  return timeOfDay(ms, true);
}

// ---------------------------------------------------------------------------------------------
// State updates

function applySnapshot(snap) {
  state.session = snap.session;
  state.clockOffset = snap.server_now_ms - Date.now();
  const status = document.getElementById('session-status');
  if (status) {
    status.textContent = STATUS_LABEL[snap.session.status] || snap.session.status;
    status.className = `status status-${snap.session.status}`;
  }
  for (const g of snap.groups) {
    if (onlyGroup !== null && g.id !== onlyGroup) continue;
    const old = state.groups.get(g.id);
    if (old && view === 'group') {
      // The socket's snapshot carries recent messages only: keep the full transcript.
      const known = new Map(old.messages.map((m) => [m.seq, m]));
      for (const m of g.messages) known.set(m.seq, m);
      g.messages = [...known.values()].sort((a, b) => a.seq - b.seq);
      const seen = new Set(old.decisions.map((d) => `${d.at_ms}|${d.decision}|${d.reason}`));
      g.decisions = old.decisions.concat(g.decisions.filter((d) => !seen.has(`${d.at_ms}|${d.decision}|${d.reason}`)));
    }
    state.groups.set(g.id, g);
  }
  renderAll();
}

function childStats(g, id) {
  return g.children.find((c) => c.id === id);
}

function onEvent(ev) {
  if (ev.type === 'snapshot') return applySnapshot(ev);
  if (ev.type === 'pong') return;
  if (ev.type === 'session') {
    if (state.session) state.session.status = ev.status;
    const status = document.getElementById('session-status');
    if (status) {
      status.textContent = STATUS_LABEL[ev.status] || ev.status;
      status.className = `status status-${ev.status}`;
    }
    return;
  }
  const g = state.groups.get(ev.group_id);
  if (!g) return;
  switch (ev.type) {
    case 'message': {
      const m = ev.message;
      if (g.messages.some((x) => x.seq === m.seq)) return;
      g.messages.push(m);
      g.messages.sort((a, b) => a.seq - b.seq);
      if (g.safety && m.screen_action in g.safety) g.safety[m.screen_action] += 1;
      if (view === 'grid' && g.messages.length > 50) g.messages.splice(0, g.messages.length - 50);
      const c = m.sender_kind === 'child' && m.moderation !== 'hidden' ? childStats(g, m.sender_id) : null;
      if (c) {
        c.messages += 1;
        c.words += words(m.text);
      }
      break;
    }
    case 'moderation': {
      const m = g.messages.find((x) => x.seq === ev.seq);
      if (m && m.moderation !== ev.moderation) {
        const c = m.sender_kind === 'child' ? childStats(g, m.sender_id) : null;
        if (c) {
          const sign = ev.moderation === 'hidden' ? -1 : m.moderation === 'hidden' ? 1 : 0;
          c.messages += sign;
          c.words += sign * words(m.text);
        }
        m.moderation = ev.moderation;
      }
      break;
    }
    case 'presence':
      g.online = ev.online;
      break;
    case 'participant': {
      const c = childStats(g, ev.participant.id);
      if (c) Object.assign(c, ev.participant);
      else g.children.push({ ...ev.participant, messages: 0, words: 0 });
      break;
    }
    case 'agent':
      g.agent = ev.agent;
      break;
    case 'decision':
      g.decisions.push({ at_ms: ev.at_ms, trigger: ev.trigger, decision: ev.decision, reason: ev.reason });
      if (view === 'grid' && g.decisions.length > GRID_DECISIONS) g.decisions.shift();
      break;
    case 'phase':
      g.phase = ev.phase;
      g.phases_finished = ev.finished;
      break;
    case 'notice':
      g.notices.push(ev.flag);
      break;
    case 'notice_seen':
      for (const n of g.notices) if (n.id === ev.flag_id) n.seen_at = ev.seen_at_ms;
      break;
    case 'notice_resolved':
      g.notices = g.notices.filter((n) => n.id !== ev.flag_id);
      break;
    default:
      return;
  }
  renderGroup(g);
}

// ---------------------------------------------------------------------------------------------
// Actions

async function act(groupId, action, statusNode) {
  return request('POST', `/api/facilitator/groups/${groupId}/actions`, action, statusNode);
}

// A JSON request with the CSRF token; shows the outcome in `statusNode`. Returns the answer's
// body when it succeeded, false otherwise.
async function request(method, url, body, statusNode) {
  statusNode.textContent = '…';
  statusNode.classList.remove('error');
  try {
    const res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
    if (res.ok) {
      statusNode.textContent = t('js-dash-done');
      return (await res.json().catch(() => ({}))) || true;
    }
    const answer = await res.json().catch(() => ({}));
    statusNode.textContent = answer.error || t('js-dash-refused', { status: res.status });
    statusNode.classList.add('error');
  } catch {
    statusNode.textContent = t('js-dash-unreachable');
    statusNode.classList.add('error');
  }
  return false;
}

function controls(g) {
  const status = el('p', { class: 'action-status', role: 'status' });
  const pause = el('button', { class: 'button', type: 'button', 'data-action': 'pause' });
  pause.addEventListener('click', () => {
    const paused = state.groups.get(g.id).agent.paused;
    act(g.id, { action: paused ? 'resume_agent' : 'pause_agent' }, status);
  });
  const role = el('select', { 'data-action': 'role', id: `role-${g.id}` });
  for (const r of ['moderator', 'participant', 'none']) role.append(el('option', { value: r, text: ROLE_LABEL[r] }));
  // Every control has a visible label (a title alone is no label for most people).
  const roleLabel = el('label', { class: 'control-label', htmlFor: role.id, text: t('js-dash-agent-role') });
  role.addEventListener('change', () => act(g.id, { action: 'switch_role', role: role.value }, status));
  const skip = el('button', { class: 'button', type: 'button', text: t('js-dash-next-phase'), 'data-action': 'skip' });
  skip.addEventListener('click', () => act(g.id, { action: 'skip_phase' }, status));
  const extend = el('button', { class: 'button', type: 'button', text: t('js-dash-extend'), 'data-action': 'extend' });
  extend.addEventListener('click', () => act(g.id, { action: 'extend_phase', minutes: 2 }, status));
  // Locking keeps new children out (a child already in comes back on their device).
  const lock = el('button', { class: 'button', type: 'button', 'data-action': 'lock' });
  lock.addEventListener('click', async () => {
    const group = state.groups.get(g.id);
    const answer = await request('POST', `/api/facilitator/groups/${g.id}/lock`, { locked: !group.locked }, status);
    if (answer && typeof answer.locked === 'boolean') {
      group.locked = answer.locked;
      box.refresh(group);
    }
  });

  const textForm = (label, action, caption) => {
    const input = el('input', { type: 'text', maxLength: 500, id: `${action}-${g.id}`, 'data-action': action });
    const send = el('button', { class: 'button', type: 'submit', text: label });
    const form = el('form', { class: 'inline-form' }, input, send);
    form.prepend(el('label', { class: 'control-label', htmlFor: input.id, text: caption }));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!input.value.trim()) return;
      if (await act(g.id, { action, text: input.value }, status)) input.value = '';
    });
    return form;
  };
  const box = el(
    'div',
    { class: 'controls' },
    el('div', { class: 'control-row' }, pause, el('span', { class: 'control-field' }, roleLabel, role), skip, extend, lock),
    textForm(t('js-dash-whisper'), 'whisper', t('js-dash-whisper-label')),
    textForm(t('js-dash-post'), 'post', t('js-dash-post-label')),
    status,
  );
  box.refresh = (group) => {
    pause.textContent = group.agent.paused ? t('js-dash-resume-agent') : t('js-dash-pause-agent');
    role.value = group.agent.role;
    lock.textContent = group.locked ? t('js-dash-unlock') : t('js-dash-lock');
    lock.title = group.locked ? t('js-dash-locked-title') : t('js-dash-lock-title');
  };
  return box;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function participationChart(g) {
  const kids = g.children;
  const maxMsgs = Math.max(1, ...kids.map((c) => c.messages));
  const maxWords = Math.max(1, ...kids.map((c) => c.words));
  const rowH = 22;
  const width = 280;
  const labelW = 110;
  const barW = width - labelW - 40;
  const chart = svg('svg', {
    class: 'participation',
    viewBox: `0 0 ${width} ${Math.max(1, kids.length) * rowH + 4}`,
    role: 'img',
    'aria-label': kids.map((c) => t('js-dash-child-bar', { name: c.nickname, messages: c.messages, words: c.words })).join('; ') || t('js-dash-nobody'),
  });
  kids.forEach((c, i) => {
    const y = i * rowH + 2;
    const online = g.online.includes(c.id);
    const dot = svg('circle', { cx: 5, cy: y + 9, r: 4, class: online ? 'dot-online' : 'dot-offline' });
    // Pictures, not emoji (which show as empty boxes without a colour-emoji font); the chart's
    // label above says it all for a screen reader.
    const picture = AVATARS[c.avatar];
    const avatar = picture ? svg('image', { href: picture.src, x: 13, y: y + 1, width: 16, height: 16 }) : null;
    const name = svg('text', { x: 32, y: y + 13, class: 'bar-label' });
    const muted = c.muted_until && c.muted_until > Date.now() + state.clockOffset;
    name.textContent = c.nickname;
    const mutedIcon = muted ? svg('image', { href: '/static/icons/muted.svg', x: labelW - 16, y: y + 2, width: 14, height: 14 }) : null;
    const m = svg('rect', { x: labelW, y, height: 8, width: Math.max(1, (c.messages / maxMsgs) * barW), class: 'bar-messages' });
    const w = svg('rect', { x: labelW, y: y + 10, height: 8, width: Math.max(1, (c.words / maxWords) * barW), class: 'bar-words' });
    const count = svg('text', { x: labelW + barW + 4, y: y + 13, class: 'bar-count' });
    count.textContent = `${c.messages}/${c.words}`;
    chart.append(...[dot, avatar, name, mutedIcon, m, w, count].filter(Boolean));
  });
  return chart;
}

function phaseText(g) {
  if (g.phases_finished) return t('js-dash-all-phases-done');
  if (!g.phase) return state.session && state.session.status === 'created' ? t('js-dash-waiting-start') : t('js-dash-not-started');
  const left = Math.max(0, g.phase.ends_at_ms - (Date.now() + state.clockOffset));
  const min = Math.floor(left / 60000);
  const sec = Math.floor((left % 60000) / 1000);
  return t('js-dash-phase-left', { index: g.phase.index + 1, phase: g.phase.name, time: `${min}:${String(sec).padStart(2, '0')}` });
}

function agentText(g) {
  const a = g.agent;
  if (a.role === 'none') return t('js-dash-no-agent');
  const seconds = (a.last_latency_ms / 1000).toLocaleString(document.documentElement.lang || 'en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const latency = a.last_latency_ms != null ? ` · ${t('js-dash-last-reply', { seconds })}` : '';
  const line = t('js-dash-agent-line', {
    agent: state.session ? state.session.agent_name : '',
    role: ROLE_LABEL[a.role] || a.role,
    state: a.paused ? t('js-dash-agent-paused') : a.activity,
  });
  return `${line}${latency}`;
}

function messageItem(g, m, withActions) {
  const li = el('li', { class: `entry entry-${m.sender_kind}${m.moderation === 'hidden' ? ' entry-hidden' : ''}`, 'data-seq': String(m.seq) });
  li.append(el('span', { class: 'entry-time', text: clock(m.created_at_ms) }), el('strong', { text: `${m.sender_name}: ` }), el('span', { class: 'entry-text', text: m.text, dir: 'auto' }));
  // What the safety screen did, and what was really written (adults only).
  if (m.original_text) li.append(' ', el('span', { class: 'entry-original', text: t('js-dash-written', { text: m.original_text }), dir: 'auto' }));
  if (m.screen_action && m.screen_action !== 'allow') {
    li.classList.add(`entry-screen-${m.screen_action}`);
    li.append(el('em', { class: 'entry-flag', text: ` (${SCREEN_LABEL[m.screen_action] || m.screen_action}${m.screen_reason ? `: ${m.screen_reason}` : ''})` }));
  } else if (m.moderation === 'hidden') {
    li.append(el('em', { class: 'entry-flag', text: ` (${t('js-dash-hidden')})` }));
  }
  if (withActions) {
    li.append(codingChips(g, m));
    const status = el('span', { class: 'action-status' });
    const hidden = m.moderation === 'hidden';
    const b = el('button', { class: 'button button-small', type: 'button', text: hidden ? t('js-dash-show') : t('js-dash-hide'), 'data-action': 'hide' });
    b.addEventListener('click', () => act(g.id, { action: hidden ? 'unhide' : 'hide', seq: m.seq }, status));
    li.append(' ', b, status);
  }
  return li;
}

// ---------------------------------------------------------------------------------------------
// Coding (group view)

function codingChips(g, m) {
  const box = el('span', { class: 'codings' });
  const status = el('span', { class: 'action-status' });
  for (const k of coding.codings.filter((c) => c.group_id === g.id && c.seq === m.seq)) {
    const code = coding.codes.find((c) => c.id === k.code_id);
    if (!code) continue;
    const mine = k.coder === coding.coder;
    const chip = el('button', {
      class: `code-chip${mine ? ' mine' : ''}`,
      type: 'button',
      text: `${code.name} · ${k.coder}`,
      title: mine ? t('js-dash-remove-code') : t('js-dash-coded-by', { coder: k.coder }),
      disabled: !mine,
      'data-code': String(code.id),
    });
    if (code.color) chip.style.borderColor = code.color;
    chip.addEventListener('click', async () => {
      if (await request('DELETE', `/api/facilitator/groups/${g.id}/codings`, { code_id: code.id, seq: m.seq }, status)) {
        coding.codings = coding.codings.filter((c) => c !== k);
        renderGroup(g);
      }
    });
    box.append(chip);
  }
  const codable = coding.codes.filter((c) => c.codable);
  if (codable.length) {
    const pick = el('select', { class: 'apply-code', title: t('js-dash-apply-code'), 'data-seq': String(m.seq) });
    pick.setAttribute('aria-label', t('js-dash-apply-code'));
    pick.append(el('option', { value: '', text: t('js-dash-add-code') }));
    for (const c of codable) pick.append(el('option', { value: String(c.id), text: c.name }));
    pick.addEventListener('change', async () => {
      const id = Number(pick.value);
      if (!id) return;
      const made = await request('POST', `/api/facilitator/groups/${g.id}/codings`, { code_id: id, seq: m.seq }, status);
      if (made && made.id && !coding.codings.some((c) => c.id === made.id)) coding.codings.push(made);
      renderGroup(g);
    });
    box.append(pick);
  }
  box.append(status);
  return box;
}

function renderCodebook() {
  const list = document.getElementById('codes');
  if (!list) return;
  document.getElementById('coder').textContent = coding.coder;
  const status = document.getElementById('code-status');
  list.replaceChildren(
    ...coding.codes.map((c) => {
      const used = coding.codings.filter((k) => k.code_id === c.id).length;
      const del = el('button', { class: 'button button-small', type: 'button', text: t('js-dash-delete'), 'data-action': 'delete-code' });
      del.addEventListener('click', async () => {
        if (used && !window.confirm(t('js-dash-delete-code-confirm', { name: c.name, count: used }))) return;
        if (await request('DELETE', `/api/facilitator/sessions/${sessionId}/codes/${c.id}`, {}, status)) {
          coding.codes = coding.codes.filter((x) => x.id !== c.id);
          coding.codings = coding.codings.filter((k) => k.code_id !== c.id);
          renderCodebook();
          renderAll();
        }
      });
      const swatch = el('span', { class: 'swatch' });
      if (c.color) swatch.style.background = c.color;
      return el('li', { class: 'code-row' }, swatch, el('span', { text: ` ${c.name} (${used}) ` }), del);
    }),
  );
}

async function loadCoding() {
  const res = await fetch(`/api/facilitator/sessions/${sessionId}/coding`, { credentials: 'same-origin' });
  if (!res.ok) return;
  Object.assign(coding, await res.json());
  renderCodebook();
}

const codebookFile = document.getElementById('codebook-file');
if (codebookFile) {
  codebookFile.addEventListener('change', async () => {
    const file = codebookFile.files[0];
    const status = document.getElementById('code-status');
    if (!file) return;
    status.textContent = '…';
    status.classList.remove('error');
    try {
      const res = await fetch(`/api/facilitator/sessions/${sessionId}/codebook`, {
        method: 'POST',
        headers: { 'x-csrf-token': csrf },
        body: await file.arrayBuffer(),
        credentials: 'same-origin',
      });
      const answer = await res.json().catch(() => ({}));
      if (res.ok) {
        status.textContent = t('js-dash-imported', { created: answer.created, updated: answer.updated });
        await loadCoding();
        renderAll();
      } else {
        status.textContent = answer.error || t('js-dash-refused', { status: res.status });
        status.classList.add('error');
      }
    } catch {
      status.textContent = t('js-dash-unreachable');
      status.classList.add('error');
    }
    codebookFile.value = '';
  });
}

const codeForm = document.getElementById('code-form');
if (codeForm) {
  codeForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = document.getElementById('code-name');
    const color = document.getElementById('code-color');
    const status = document.getElementById('code-status');
    const made = await request('POST', `/api/facilitator/sessions/${sessionId}/codes`, { name: name.value, color: color.value }, status);
    if (made && made.id) {
      coding.codes.push(made);
      name.value = '';
      renderCodebook();
      renderAll();
    }
  });
}

function decisionItem(d) {
  return el(
    'li',
    { class: `decision decision-${d.decision}` },
    el('span', { class: 'entry-time', text: clock(d.at_ms) }),
    el('strong', { text: ` ${d.decision}` }),
    el('span', { text: ` (${d.trigger}): ${d.reason}` }),
  );
}

function cardFor(g) {
  let card = cards.get(g.id);
  if (card) return card;
  const parts = {
    title: el('h2'),
    meta: el('p', { class: 'card-meta' }),
    phase: el('p', { class: 'card-phase' }),
    agent: el('p', { class: 'card-agent' }),
    notices: el('ul', { class: 'notices' }),
    chart: el('div', { class: 'chart' }),
    // A list that may scroll (longer words in some languages) is a Tab stop with a name, so
    // that a keyboard can scroll it too.
    messages: el('ol', { class: 'recent', tabIndex: 0 }),
    decisions: el('ol', { class: 'decisions' }),
    controls: controls(g),
  };
  parts.messages.setAttribute('aria-label', t('js-dash-recent-messages', { group: g.name }));
  const node = el('article', { class: 'group-card', 'data-group': String(g.id) });
  if (view === 'grid') {
    const open = el('a', { href: `/facilitator/groups/${g.id}`, text: t('js-dash-open-transcript'), class: 'open-group' });
    node.append(parts.title, parts.meta, parts.phase, parts.agent, parts.notices, parts.chart, parts.messages, parts.controls, open);
    document.getElementById('grid').append(node);
  } else {
    const panel = document.getElementById('group-panel');
    node.append(parts.meta, parts.phase, parts.agent, parts.notices, parts.chart, parts.controls);
    panel.append(node);
    parts.messages = document.getElementById('transcript');
    parts.decisions = document.getElementById('decisions');
    parts.mutes = el('div', { class: 'mutes' });
    node.append(parts.mutes);
  }
  card = { node, parts };
  cards.set(g.id, card);
  return card;
}

function renderGroup(g) {
  const { node, parts } = cardFor(g);
  parts.title.textContent = `${g.name} · ${g.join_code}`;
  const safety = g.safety || {};
  const screened = [
    safety.redact ? t('js-dash-hidden-details', { count: safety.redact }) : '',
    safety.hold ? t('js-dash-held', { count: safety.hold }) : '',
    safety.urgent ? t('js-dash-urgent', { count: safety.urgent }) : '',
  ].filter(Boolean);
  const online = t('js-dash-online', { online: g.online.length, total: g.children.length });
  parts.meta.textContent = screened.length ? `${online} · ${t('js-dash-safety', { list: screened.join(', ') })}` : online;
  parts.phase.textContent = phaseText(g);
  parts.agent.textContent = agentText(g);
  parts.agent.dataset.state = g.agent.paused ? 'paused' : g.agent.activity;
  node.classList.toggle('needs-attention', g.notices.length > 0);
  node.classList.toggle('needs-urgent-attention', g.notices.some((n) => n.severity === 'urgent'));
  parts.notices.replaceChildren(...g.notices.map((n) => noticeItem(g, n)));
  parts.chart.replaceChildren(participationChart(g));
  const shown = view === 'grid' ? g.messages.slice(-GRID_MESSAGES) : g.messages;
  parts.messages.replaceChildren(...shown.map((m) => messageItem(g, m, view === 'group')));
  if (view === 'group') {
    parts.decisions.replaceChildren(...g.decisions.map(decisionItem));
    const status = el('span', { class: 'action-status' });
    parts.mutes.replaceChildren(
      el('h3', { text: t('js-dash-children') }),
      ...g.children.map((c) => {
        const muted = c.muted_until && c.muted_until > Date.now() + state.clockOffset;
        const b = el('button', { class: 'button button-small', type: 'button', text: muted ? t('js-dash-unmute', { name: c.nickname }) : t('js-dash-mute', { name: c.nickname }), 'data-action': 'mute' });
        b.addEventListener('click', () =>
          act(g.id, muted ? { action: 'unmute', participant_id: c.id } : { action: 'mute', participant_id: c.id, minutes: 5 }, status),
        );
        return el('p', {}, b);
      }),
      status,
    );
  }
  parts.controls.refresh(g);
  // The page's settings line follows a role switched live.
  const roleFact = document.getElementById(view === 'group' ? 'group-role' : 'session-roles');
  if (roleFact) {
    const roles = [...state.groups.values()].map((x) => (x.agent.role === 'none' ? t('js-dash-role-control') : ROLE_LABEL[x.agent.role] || x.agent.role));
    roleFact.textContent = [...new Set(roles)].join(', ');
  }
  renderAlerts();
}

/** A notice with what can be done about it: a held message can be shown to the group or kept
 * hidden; a child's help request is marked seen, then dealt with (NEW / SEEN / DEALT WITH);
 * every other notice (an urgent safeguarding alert included) is marked dealt with. */
function noticeItem(g, n) {
  const status = el('span', { class: 'action-status', role: 'status' });
  const button = (text, action, name) => {
    const b = el('button', { class: 'button button-small', type: 'button', text, 'data-action': name });
    b.addEventListener('click', () => act(g.id, { action, flag_id: n.id }, status));
    return b;
  };
  const urgent = n.severity === 'urgent';
  const li = el('li', { class: `notice notice-${n.kind}${urgent ? ' notice-urgent' : ''}`, 'data-notice': String(n.id) });
  const help = n.kind === 'help_request';
  if (help) li.append(el('strong', { class: 'notice-state', text: n.seen_at ? t('js-dash-seen') : t('js-dash-new') }), ' ');
  const picture = urgent ? 'urgent' : help ? 'help' : 'warning';
  // The icon goes inside the words' span: the notice is a wrapping flex row.
  const icon = el('img', { class: 'icon', src: `/static/icons/${picture}.svg`, alt: '' });
  li.append(el('span', {}, icon, ` ${urgent ? `${t('js-dash-urgent-label')} ` : ''}${n.detail} `));
  // The words as written (the facilitator may read what the screen hid from the group).
  const written = n.message ? n.message.original_text || n.message.text : help ? n.original_note || n.note : null;
  if (written) li.append(el('q', { class: 'notice-text', text: written, dir: 'auto' }), ' ');
  if (n.kind === 'held') li.append(button(t('js-dash-show-to-group'), 'release', 'release'), ' ', button(t('js-dash-keep-hidden'), 'keep_hidden', 'keep'));
  else {
    if (help && !n.seen_at) li.append(button(t('js-dash-mark-seen'), 'see_notice', 'see'), ' ');
    li.append(button(t('js-dash-dealt-with'), 'resolve_notice', 'resolve'));
  }
  li.append(status);
  return li;
}

/** Urgent alerts of every group, at the top of the page until somebody deals with them. */
function renderAlerts() {
  const box = document.getElementById('alerts');
  if (!box) return;
  const items = [];
  for (const g of state.groups.values()) {
    for (const n of g.notices.filter((x) => x.severity === 'urgent')) {
      const item = noticeItem(g, n);
      item.prepend(el('strong', { text: `${g.name}: ` }));
      items.push(item);
    }
  }
  box.querySelector('ul').replaceChildren(...items);
  box.hidden = items.length === 0;
}

function renderAll() {
  for (const g of state.groups.values()) renderGroup(g);
}

// The phase countdowns.
setInterval(() => {
  for (const g of state.groups.values()) {
    const card = cards.get(g.id);
    if (card) card.parts.phase.textContent = phaseText(g);
  }
}, 1000);

// ---------------------------------------------------------------------------------------------
// The socket, reconnecting with backoff

const conn = document.getElementById('conn');
let retry = 500;

async function loadTranscript() {
  const res = await fetch(`/api/facilitator/groups/${onlyGroup}/transcript`, { credentials: 'same-origin' });
  if (res.ok) applySnapshot(await res.json());
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/facilitator/ws?session=${sessionId}`);
  ws.addEventListener('open', () => {
    retry = 500;
    conn.textContent = t('js-dash-live');
    conn.className = 'conn conn-live';
  });
  ws.addEventListener('message', (e) => {
    try {
      onEvent(JSON.parse(e.data));
    } catch (err) {
      console.error('dashboard event', err);
    }
  });
  ws.addEventListener('close', (e) => {
    if (e.code === 4001) {
      location.href = '/facilitator/login';
      return;
    }
    conn.textContent = t('js-dash-reconnecting');
    conn.className = 'conn conn-lost';
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10000);
  });
}

for (const form of document.querySelectorAll('form.confirm')) {
  form.addEventListener('submit', (e) => {
    if (!window.confirm(form.dataset.confirm)) e.preventDefault();
  });
}

if (view === 'group') {
  loadCoding()
    .then(loadTranscript)
    .finally(connect);
} else {
  connect();
}
