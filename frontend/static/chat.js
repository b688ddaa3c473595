// The chat page: draws what the socket reports. Every piece of chat text goes into the page
// with textContent / createTextNode, never as HTML.

import { ChatConnection, MAX_MESSAGE_CHARS, charCount } from './connection.js';
import { t, timeOfDay } from './i18n.js';

// Avatars are pictures (an emoji shows as an empty box without a colour-emoji font). The
// agent's and the teacher's stand next to their badge, which says who they are: no alt text.
const AGENT_AVATAR = { src: '/static/icons/robot.svg', name: '' };
const FACILITATOR_AVATAR = { src: '/static/icons/teacher.svg', name: '' };
const UNKNOWN_AVATAR = { src: '/static/avatars/unknown.svg', name: '' };
const TYPING_CLEAR_MS = 6_000; // a typing indicator without news goes away (protocol)
const TYPING_REPEAT_MS = 3_000; // how often we repeat "typing: on" while the child types
const TYPING_IDLE_MS = 4_000; // no key for this long: "typing: off"
const NOTICE_MS = 8_000;
const MAX_HELP_NOTE_CHARS = 200; // protocol.rs MAX_HELP_NOTE_CHARS

// What to say for an error the server sent without a sentence of its own.
const FRIENDLY_ERRORS = {
  bad_request: t('js-chat-error-bad-request'),
  unsupported_version: t('js-chat-error-unsupported-version'),
  message_too_long: t('js-chat-error-message-too-long', { max: MAX_MESSAGE_CHARS }),
  empty_message: t('js-chat-error-empty-message'),
  rate_limited: t('js-chat-error-rate-limited'),
  muted: t('js-chat-error-muted'),
  session_closed: t('js-chat-error-session-closed'),
  unauthorized: t('js-chat-error-unauthorized'),
  internal: t('js-chat-error-internal'),
};

const $ = (id) => document.getElementById(id);

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
};

// --- what the page was given ------------------------------------------------------------------

const data = document.body.dataset;
/** A child's avatar (stored as its emoji) -> { src, name }, from the page. */
const AVATARS = (() => {
  try {
    return JSON.parse(data.avatars || '{}');
  } catch {
    return {};
  }
})();

/** The picture of an avatar: an <img> with the animal's name as its text alternative. */
function avatarPicture(picture) {
  const img = document.createElement('img');
  img.src = picture.src;
  img.alt = picture.name;
  img.width = 40;
  img.height = 40;
  return img;
}

const childAvatar = (emoji) => AVATARS[emoji] || UNKNOWN_AVATAR;
const state = {
  groupId: Number(data.groupId),
  me: { id: Number(data.meId), nickname: data.meNickname || '', avatar: data.meAvatar || '' },
  agent: data.agentName ? { name: data.agentName, role: data.agentRole } : null,
  sessionStatus: data.sessionStatus || 'created',
  phaseCount: Number(data.phaseCount) || 0,
  phase: null,
  online: [],
  synced: false,
  connected: false,
  unauthorized: false,
  // The facilitator paused this child's messages (the send button is off until it ends).
  muted: false,
  /** participant id -> { nickname, timer } */
  typing: new Map(),
  /** stream_id -> <li> while the agent's reply streams in */
  streams: new Map(),
};

// The tablet's clock may be off; the phase's end time is the server's. The page was rendered a
// moment ago with the server's time, which gives the difference well enough for a countdown.
const serverNow = Number(data.serverNowMs);
const clockOffset = Number.isFinite(serverNow) && Math.abs(serverNow - Date.now()) > 2_000 ? serverNow - Date.now() : 0;
const now = () => Date.now() + clockOffset;

const ui = {
  messages: $('messages'),
  people: $('people'),
  peopleCount: $('people-count'),
  typing: $('typing'),
  notice: $('notice'),
  banner: $('banner'),
  bannerText: $('banner-text'),
  composer: $('composer'),
  text: $('text'),
  send: $('send'),
  counter: $('counter'),
  announcer: $('announcer'),
  jump: $('jump'),
  phaseStep: $('phase-step'),
  phaseName: $('phase-name'),
  phaseTime: $('phase-time'),
  phaseGoal: $('phase-goal'),
  groupName: $('group-name'),
  activityTitle: $('activity-title'),
  helpOpen: $('help-open'),
  helpStatus: $('help-status'),
  helpDialog: $('help-dialog'),
  helpForm: $('help-form'),
  helpNote: $('help-note'),
  helpCounter: $('help-counter'),
  helpError: $('help-error'),
  helpSend: $('help-send'),
  helpCancel: $('help-cancel'),
};

// --- messages ----------------------------------------------------------------------------------

/** A colour per child (by id), so names are easy to tell apart; all pass contrast on white. */
const colourOf = (id) => `c${Math.abs(Number(id) || 0) % 8}`;

const timeOf = (ms) => {
  return timeOfDay(Number(ms) || Date.now());
};

function isMine(sender) {
  return !!sender && sender.kind === 'child' && sender.id === state.me.id;
}

function senderLabel(sender) {
  switch (sender?.kind) {
    case 'agent':
      return { avatar: AGENT_AVATAR, name: sender.name || state.agent?.name || t('js-chat-ai-helper'), badge: t('js-chat-ai-helper'), kind: 'agent' };
    case 'facilitator':
      return { avatar: FACILITATOR_AVATAR, name: sender.name || t('js-chat-teacher'), badge: t('js-chat-teacher'), kind: 'facilitator' };
    case 'system':
      return { avatar: '', name: '', badge: '', kind: 'system' };
    default:
      return { avatar: childAvatar(sender?.avatar), name: sender?.name || t('js-chat-someone'), badge: '', kind: 'child' };
  }
}

/** Builds one message bubble. `m` has sender, text, created_at_ms and maybe seq, reply_to. */
function buildMessage(m, { mine = false, status = '' } = {}) {
  const who = senderLabel(m.sender);
  const li = el('li', `msg msg-${who.kind}`);
  li.dataset.sender = who.kind === 'child' || who.kind === 'facilitator' ? `${who.kind}:${m.sender?.id}` : who.kind;
  li.dataset.at = String(Number(m.created_at_ms) || Date.now());
  if (who.kind === 'system') {
    li.append(bodyText(m.text));
    return li;
  }
  if (mine) li.classList.add('mine');
  if (who.kind === 'child') li.classList.add(colourOf(m.sender?.id));

  const avatar = el('span', 'msg-avatar');
  avatar.append(avatarPicture(who.avatar));

  const body = el('div', 'msg-body');
  const head = el('p', 'msg-head');
  head.append(el('span', 'msg-name', mine ? t('js-chat-you', { name: who.name }) : who.name));
  if (who.badge) head.append(el('span', `badge badge-${who.kind}`, who.badge));
  const time = el('time', 'msg-time', timeOf(m.created_at_ms));
  if (m.created_at_ms) time.dateTime = new Date(m.created_at_ms).toISOString();
  head.append(time);
  body.append(head);

  if (m.reply_to != null) {
    const quoted = findBySeq(m.reply_to);
    if (quoted) {
      const q = el('p', 'msg-quote');
      q.dir = 'auto';
      const name = quoted.querySelector('.msg-name')?.textContent || '';
      const text = quoted.querySelector('.msg-text')?.textContent || '';
      q.textContent = `↩ ${name}: ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`;
      body.append(q);
    }
  }

  body.append(bodyText(m.text));
  if (status) body.append(el('p', 'msg-status', status));
  li.append(avatar, body);
  return li;
}

/** A message's words: their own direction (a child may write Arabic or Hebrew). */
function bodyText(text) {
  const p = el('p', 'msg-text', text);
  p.dir = 'auto';
  return p;
}

/** Consecutive messages of one sender within a few minutes share one avatar and name. */
function regroup() {
  let prev = null;
  for (const li of ui.messages.children) {
    const same =
      prev &&
      li.dataset.sender !== 'system' &&
      prev.dataset.sender === li.dataset.sender &&
      Number(li.dataset.at) - Number(prev.dataset.at) < 3 * 60_000;
    li.classList.toggle('cont', !!same);
    prev = li;
  }
}

function findBySeq(seq) {
  return ui.messages.querySelector(`li[data-seq="${Number(seq)}"]`);
}

function nearBottom() {
  const m = ui.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 120;
}

function afterInsert(wasNearBottom, mine) {
  regroup();
  if (wasNearBottom || mine) {
    ui.messages.scrollTop = ui.messages.scrollHeight;
    ui.jump.hidden = true;
  } else {
    ui.jump.hidden = false;
  }
}

/** Inserts a stored message at its place in seq order, before anything still unstored. */
function placeBySeq(li, seq) {
  li.dataset.seq = String(seq);
  let node = ui.messages.lastElementChild;
  while (node && !(node.dataset.seq && Number(node.dataset.seq) < seq)) node = node.previousElementSibling;
  if (node) node.after(li);
  else ui.messages.prepend(li);
}

/** Inserts something not yet stored (a streaming reply) before our own pending messages. */
function placeBeforePending(li) {
  const firstPending = ui.messages.querySelector('li.pending');
  if (firstPending) firstPending.before(li);
  else ui.messages.append(li);
}

function showMessage(m) {
  if (typeof m.seq !== 'number') return;
  const wasNearBottom = nearBottom();
  const mine = isMine(m.sender);
  const li = buildMessage(m, { mine });
  const existing = findBySeq(m.seq);
  const streamed = ui.messages.querySelector(`li[data-await-seq="${m.seq}"]`);
  const pending = m.client_msg_id ? ui.messages.querySelector(`li.pending[data-client-id="${cssEscape(m.client_msg_id)}"]`) : null;
  if (pending && mine) pending.remove();
  if (existing) {
    existing.replaceWith(li);
    li.dataset.seq = String(m.seq);
  } else if (streamed) {
    // The finished reply: a screen reader hears it now, once (the streaming bubble is in no
    // live region, so its words were not read one by one).
    streamed.replaceWith(li);
    li.dataset.seq = String(m.seq);
    if (state.synced && !mine) announce(m);
  } else {
    placeBySeq(li, m.seq);
    if (state.synced && !mine) announce(m);
  }
  if (m.sender?.kind === 'child') clearTyping(m.sender.id);
  afterInsert(wasNearBottom, mine && !existing);
}

function cssEscape(s) {
  return globalThis.CSS?.escape ? CSS.escape(String(s)) : String(s).replace(/["\\]/g, '\\$&');
}

function announce(m) {
  const who = senderLabel(m.sender);
  const line = who.kind === 'system' ? m.text : who.badge ? t('js-chat-says-badge', { name: who.name, badge: who.badge, text: m.text }) : t('js-chat-says', { name: who.name, text: m.text });
  const p = el('p', '', line);
  ui.announcer.append(p);
  while (ui.announcer.childElementCount > 5) ui.announcer.firstElementChild.remove();
}

// --- our own messages, before the server has them ----------------------------------------------

const STATUS_TEXT = {
  queued: t('js-chat-status-queued'),
  sending: t('js-chat-status-sending'),
  waiting: t('js-chat-status-waiting'),
  not_saved: t('js-chat-status-not-saved'),
};

function pendingBubble(entry) {
  return ui.messages.querySelector(`li.pending[data-client-id="${cssEscape(entry.id)}"]`);
}

function showPending(entry, status) {
  let li = pendingBubble(entry);
  const text = STATUS_TEXT[status] || STATUS_TEXT.sending;
  if (!li) {
    li = buildMessage(
      { sender: { kind: 'child', id: state.me.id, name: state.me.nickname, avatar: state.me.avatar }, text: entry.text, created_at_ms: Date.now() },
      { mine: true, status: text },
    );
    li.classList.add('pending');
    li.dataset.clientId = entry.id;
    ui.messages.append(li);
    afterInsert(true, true);
  } else {
    const s = li.querySelector('.msg-status');
    if (s) s.textContent = text;
  }
}

function onOutbox(entry, status, detail) {
  if (status === 'waiting' && detail?.why === 'not_saved') {
    // The server could not store it (its database is away for a moment): say so honestly;
    // the outbox keeps trying with the same id, so it is stored once when the database is back.
    showPending(entry, 'not_saved');
    return;
  }
  if (status === 'queued' || status === 'sending' || status === 'waiting') {
    showPending(entry, status);
    return;
  }
  const li = pendingBubble(entry);
  if (status === 'acked') {
    if (!li) return;
    if (findBySeq(detail.seq)) {
      li.remove();
      return;
    }
    // Stored: it takes its place in seq order (the broadcast, when it comes, replaces it).
    li.classList.remove('pending');
    delete li.dataset.clientId;
    li.querySelector('.msg-status')?.remove();
    li.remove();
    placeBySeq(li, detail.seq);
    afterInsert(true, true);
  } else if (status === 'refused') {
    li?.remove();
    regroup();
    // Give the words back, so nothing typed is lost.
    const current = ui.text.value;
    ui.text.value = current.trim() ? `${current}\n${entry.text}` : entry.text;
    updateCounter();
    showNotice(detail?.message || FRIENDLY_ERRORS[detail?.code] || FRIENDLY_ERRORS.bad_request);
  }
}

// --- the agent's reply, word by word --------------------------------------------------------------

function agentStart(f) {
  const wasNearBottom = nearBottom();
  const li = buildMessage({ sender: { kind: 'agent', name: f.name }, text: '', created_at_ms: now(), reply_to: f.reply_to });
  li.classList.add('streaming');
  li.dataset.streamId = String(f.stream_id);
  li.querySelector('.msg-text').append(el('span', 'dots', '…'));
  state.streams.set(f.stream_id, li);
  placeBeforePending(li);
  afterInsert(wasNearBottom, false);
  renderTyping();
}

function agentDelta(f) {
  const li = state.streams.get(f.stream_id);
  if (!li || typeof f.text !== 'string') return;
  const wasNearBottom = nearBottom();
  const p = li.querySelector('.msg-text');
  p.querySelector('.dots')?.remove();
  p.append(document.createTextNode(f.text));
  afterInsert(wasNearBottom, false);
  renderTyping();
}

function agentEnd(f) {
  const li = state.streams.get(f.stream_id);
  state.streams.delete(f.stream_id);
  renderTyping();
  if (!li) return;
  if (f.seq == null || findBySeq(f.seq)) {
    li.remove(); // cancelled, or the stored message is already here
    regroup();
    return;
  }
  li.classList.remove('streaming');
  li.querySelector('.dots')?.remove();
  li.dataset.awaitSeq = String(f.seq);
}

function dropStreams() {
  for (const li of state.streams.values()) li.remove();
  state.streams.clear();
  regroup();
  renderTyping();
}

// --- who is here, who is typing ----------------------------------------------------------------------

function renderPeople() {
  const items = [];
  if (state.agent) {
    const li = el('li', 'person person-agent');
    const avatar = el('span', 'person-avatar');
    avatar.append(avatarPicture(AGENT_AVATAR));
    li.append(avatar, el('span', 'person-name', state.agent.name), el('span', 'badge badge-agent', t('js-chat-ai-helper')));
    items.push(li);
  }
  const online = [...state.online].sort((a, b) => (a.id === state.me.id ? -1 : b.id === state.me.id ? 1 : a.nickname.localeCompare(b.nickname)));
  for (const p of online) {
    const li = el('li', `person ${colourOf(p.id)}`);
    const avatar = el('span', 'person-avatar');
    avatar.append(avatarPicture(childAvatar(p.avatar)));
    li.append(avatar, el('span', 'person-name', p.id === state.me.id ? t('js-chat-you', { name: p.nickname }) : p.nickname));
    items.push(li);
  }
  ui.people.replaceChildren(...items);
  ui.peopleCount.textContent = state.online.length ? t('js-chat-online', { count: state.online.length }) : '';
}

function clearTyping(id) {
  const t = state.typing.get(id);
  if (!t) return;
  clearTimeout(t.timer);
  state.typing.delete(id);
  renderTyping();
}

function clearAllTyping() {
  for (const t of state.typing.values()) clearTimeout(t.timer);
  state.typing.clear();
  renderTyping();
}

function onTyping(f) {
  if (f.participant_id === state.me.id) return;
  clearTimeout(state.typing.get(f.participant_id)?.timer);
  if (f.on) {
    const timer = setTimeout(() => clearTyping(f.participant_id), TYPING_CLEAR_MS);
    state.typing.set(f.participant_id, { nickname: f.nickname || t('js-chat-someone'), timer });
  } else {
    state.typing.delete(f.participant_id);
  }
  renderTyping();
}

function renderTyping() {
  const names = [...state.typing.values()].map((t) => t.nickname);
  const thinking = [...state.streams.values()].some((li) => li.querySelector('.dots'));
  let text = '';
  if (names.length === 1) text = t('js-chat-typing-one', { name: names[0] });
  else if (names.length === 2) text = t('js-chat-typing-two', { first: names[0], second: names[1] });
  else if (names.length > 2) text = t('js-chat-typing-many', { count: names.length });
  if (thinking && state.agent) {
    const agent = t('js-chat-thinking', { name: state.agent.name });
    text = text ? `${text} ${agent}` : agent;
  }
  ui.typing.textContent = text;
}

// --- the phase and its clock ---------------------------------------------------------------------

function setPhase(phase) {
  const changed = state.phase?.index !== phase?.index;
  state.phase = phase || null;
  renderPhase();
  if (changed && phase && state.synced) announceText(t('js-chat-now', { phase: phase.name, goal: phase.goal || '' }));
}

function renderPhase() {
  const p = state.phase;
  if (state.sessionStatus === 'ended') {
    ui.phaseStep.textContent = '';
    ui.phaseName.textContent = t('js-chat-ended');
    ui.phaseGoal.textContent = '';
    ui.phaseTime.textContent = '';
    return;
  }
  if (!p) {
    ui.phaseStep.textContent = '';
    const waiting = state.sessionStatus === 'created';
    ui.phaseName.textContent =
      state.sessionStatus === 'paused' ? t('js-chat-paused-moment') : waiting ? t('js-chat-waiting-start') : t('js-chat-work-together');
    ui.phaseGoal.textContent = waiting ? t('js-chat-say-hello') : '';
    ui.phaseTime.textContent = '';
    return;
  }
  const index = Number(p.index);
  ui.phaseStep.textContent = state.phaseCount && Number.isFinite(index) ? t('js-chat-part', { index: index + 1, count: state.phaseCount }) : '';
  ui.phaseName.textContent = state.sessionStatus === 'paused' ? t('js-chat-phase-paused', { phase: p.name }) : p.name;
  ui.phaseGoal.textContent = p.goal || '';
  tick();
}

function tick() {
  const p = state.phase;
  if (!p || !Number.isFinite(p.ends_at_ms) || state.sessionStatus === 'ended') {
    ui.phaseTime.textContent = '';
    ui.phaseTime.classList.remove('soon');
    return;
  }
  const left = Math.max(0, Math.ceil((p.ends_at_ms - now()) / 1000));
  const m = Math.floor(left / 60);
  const s = String(left % 60).padStart(2, '0');
  // The clock's picture is drawn by the style sheet (.phase-time::before).
  ui.phaseTime.textContent = left > 0 ? t('js-chat-time-left', { time: `${m}:${s}` }) : t('js-chat-time-up');
  ui.phaseTime.classList.toggle('soon', left <= 60);
}

function announceText(text) {
  ui.announcer.append(el('p', '', text));
  while (ui.announcer.childElementCount > 5) ui.announcer.firstElementChild.remove();
}

// --- notices and the connection banner --------------------------------------------------------------

let noticeTimer = null;

function showNotice(text, { link = null, sticky = false } = {}) {
  clearTimeout(noticeTimer);
  const parts = [el('span', '', text)];
  if (link) {
    const a = el('a', 'button button-primary', link.text);
    a.href = link.href;
    parts.push(document.createTextNode(' '), a);
  }
  ui.notice.replaceChildren(...parts);
  ui.notice.hidden = false;
  if (!sticky) noticeTimer = setTimeout(() => (ui.notice.hidden = true), NOTICE_MS);
}

function onState(s) {
  if (s === 'open') {
    state.connected = true;
    ui.banner.hidden = true;
    document.body.classList.remove('offline');
  } else if (s === 'reconnecting') {
    if (state.connected) {
      dropStreams();
      clearAllTyping();
    }
    state.connected = false;
    state.synced = false;
    ui.bannerText.textContent = t('js-chat-reconnecting');
    ui.banner.hidden = false;
    document.body.classList.add('offline');
  } else if (s === 'unauthorized') {
    state.connected = false;
    dropStreams();
    clearAllTyping();
    state.unauthorized = true;
    ui.banner.hidden = true;
    ui.text.disabled = true;
    ui.send.disabled = true;
    showNotice(t('js-chat-not-known'), { link: { href: '/', text: t('js-chat-join-again') }, sticky: true });
  }
  updateCounter();
}

// --- frames --------------------------------------------------------------------------------------------

function onFrame(f) {
  switch (f.type) {
    case 'welcome':
      if (f.you) state.me = { id: f.you.id, nickname: f.you.nickname, avatar: f.you.avatar };
      if (f.group) {
        if (f.group.name) ui.groupName.textContent = f.group.name;
        if (f.group.activity_title) ui.activityTitle.textContent = f.group.activity_title;
        state.agent = f.group.agent && f.group.agent.role !== 'none' ? f.group.agent : null;
      }
      if (f.session_status) state.sessionStatus = f.session_status;
      setMuted(f.muted_for_s ?? null);
      state.synced = false;
      setPhase(f.phase);
      renderPeople();
      break;
    case 'message':
      showMessage(f);
      break;
    case 'synced':
      state.synced = true;
      ui.messages.setAttribute('aria-busy', 'false');
      break;
    case 'presence':
      state.online = Array.isArray(f.online) ? f.online : [];
      renderPeople();
      break;
    case 'typing':
      onTyping(f);
      break;
    case 'agent_start':
      agentStart(f);
      break;
    case 'agent_delta':
      agentDelta(f);
      break;
    case 'agent_end':
      agentEnd(f);
      break;
    case 'phase':
      if (state.sessionStatus === 'created') state.sessionStatus = 'running';
      setPhase(f);
      break;
    case 'session':
      state.sessionStatus = f.status;
      renderPhase();
      if (f.status === 'paused') showNotice(t('js-chat-teacher-paused-chat'));
      if (f.status === 'running') ui.notice.hidden = true;
      break;
    case 'muted':
      setMuted(f.seconds ?? null);
      break;
    case 'hidden':
      findBySeq(f.seq)?.remove();
      ui.messages.querySelector(`li[data-await-seq="${Number(f.seq)}"]`)?.remove();
      regroup();
      break;
    case 'safety_note':
      onSafetyNote(f);
      break;
    case 'help_sent':
      onHelpSent(f);
      break;
    case 'resync':
      dropStreams();
      state.synced = false;
      break;
    case 'error':
      onError(f);
      break;
    default:
      break;
  }
}

/**
 * The safety screen changed or kept back one of our own messages: say so under it, kindly and
 * privately (nobody else gets this frame). A held message stays on our own screen only.
 */
function onSafetyNote(f) {
  const li = findBySeq(f.seq) || ui.messages.querySelector(`li[data-client-id="${cssEscape(f.client_msg_id)}"]`);
  const note = el('p', 'msg-safety', f.note);
  note.setAttribute('role', 'note');
  if (li) {
    li.querySelector('.msg-safety')?.remove();
    if (f.action === 'hold' || f.action === 'urgent') {
      li.classList.add('msg-held');
      li.querySelector('.msg-status')?.remove();
      li.querySelector('.msg-body')?.append(el('p', 'msg-status', t('js-chat-only-you-see')));
    }
    li.querySelector('.msg-body')?.append(note);
    afterInsert(true, true);
  } else {
    showNotice(f.note, { sticky: true });
  }
  announceText(f.note);
}

function onError(f) {
  if (f.code === 'unauthorized' || f.code === 'not_ready') return; // handled by the connection
  if (f.about === 'help') {
    onHelpError(f);
    return;
  }
  // Errors about a message are shown by the outbox (refused) or are retried by it; here the rest.
  if (f.code === 'rate_limited') {
    const secs = Number.isFinite(f.retry_after_ms) ? Math.max(1, Math.ceil(f.retry_after_ms / 1000)) : 0;
    showNotice(f.message || (secs ? t('js-chat-send-again-in', { seconds: secs }) : FRIENDLY_ERRORS.rate_limited));
    return;
  }
  if (f.client_msg_id && ['message_too_long', 'empty_message', 'muted', 'session_closed', 'bad_request'].includes(f.code)) return;
  if (f.code === 'internal' && f.client_msg_id) return; // retried quietly
  if (f.code === 'session_closed') state.sessionStatus = 'paused';
  showNotice(f.message || FRIENDLY_ERRORS[f.code] || FRIENDLY_ERRORS.bad_request);
}

// --- the composer ------------------------------------------------------------------------------------------

let typingOn = false;
let typingSentAt = 0;
let typingIdle = null;

function setTyping(on) {
  clearTimeout(typingIdle);
  if (on) {
    if (!typingOn || Date.now() - typingSentAt > TYPING_REPEAT_MS) {
      conn.typing(true);
      typingSentAt = Date.now();
    }
    typingOn = true;
    typingIdle = setTimeout(() => setTyping(false), TYPING_IDLE_MS);
  } else if (typingOn) {
    typingOn = false;
    conn.typing(false);
  }
}

function updateCounter() {
  const n = charCount(ui.text.value);
  ui.counter.textContent = `${n} / ${MAX_MESSAGE_CHARS}`;
  const over = n > MAX_MESSAGE_CHARS;
  ui.counter.classList.toggle('over', over);
  ui.counter.classList.toggle('near', !over && n > MAX_MESSAGE_CHARS - 50);
  ui.text.setAttribute('aria-invalid', over ? 'true' : 'false');
  ui.send.disabled = state.unauthorized || over || state.muted;
}

// The facilitator paused this child's messages for `seconds` (null: the pause is lifted). The
// server's clock is not ours, so the pause is counted from now.
let muteTimer = null;

function setMuted(seconds) {
  clearTimeout(muteTimer);
  const wasMuted = state.muted;
  state.muted = seconds != null && seconds > 0;
  if (state.muted) {
    const minutes = Math.max(1, Math.ceil(seconds / 60));
    showNotice(t('js-chat-muted-for', { minutes }), { sticky: true });
    muteTimer = setTimeout(() => setMuted(null), seconds * 1000);
  } else if (wasMuted) {
    showNotice(t('js-chat-write-again'));
  }
  updateCounter();
}

function submit() {
  if (state.unauthorized) return;
  const text = ui.text.value.trim();
  if (!text) {
    ui.text.focus();
    return;
  }
  if (charCount(text) > MAX_MESSAGE_CHARS) {
    showNotice(FRIENDLY_ERRORS.message_too_long);
    return;
  }
  conn.send(text);
  ui.text.value = '';
  updateCounter();
  setTyping(false);
  ui.text.focus();
}

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  submit();
});

ui.text.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
  }
});

ui.text.addEventListener('input', () => {
  updateCounter();
  setTyping(ui.text.value.trim().length > 0);
});

ui.messages.addEventListener('scroll', () => {
  if (nearBottom()) ui.jump.hidden = true;
});

ui.jump.addEventListener('click', () => {
  ui.messages.scrollTop = ui.messages.scrollHeight;
  ui.jump.hidden = true;
  ui.text.focus();
});

// --- "I need help" -------------------------------------------------------------------------------------
// A private request to the teacher: the group never sees it. The dialog is a native <dialog>
// (focus stays inside it, Escape closes it), opened from a button in the top bar.

const HELP_TOLD = {
  new: t('js-chat-help-new'),
  seen: t('js-chat-help-seen'),
  dealt_with: t('js-chat-help-dealt-with'),
};

function openHelp() {
  ui.helpError.hidden = true;
  ui.helpSend.disabled = false;
  updateHelpCounter();
  if (typeof ui.helpDialog.showModal === 'function') ui.helpDialog.showModal();
  else ui.helpDialog.setAttribute('open', '');
  ui.helpNote.focus();
}

function closeHelp() {
  if (typeof ui.helpDialog.close === 'function') ui.helpDialog.close();
  else ui.helpDialog.removeAttribute('open');
  ui.helpOpen.focus();
}

function updateHelpCounter() {
  ui.helpCounter.textContent = `${charCount(ui.helpNote.value)} / ${MAX_HELP_NOTE_CHARS}`;
}

function sendHelp() {
  const note = ui.helpNote.value.trim();
  if (charCount(note) > MAX_HELP_NOTE_CHARS) {
    showHelpError(t('js-chat-help-note-too-long', { max: MAX_HELP_NOTE_CHARS }));
    return;
  }
  ui.helpSend.disabled = true;
  if (!conn.help(note)) {
    // Offline: the connection sends it as soon as the chat is back.
    closeHelp();
    showHelpStatus(t('js-chat-help-offline'));
  }
}

function showHelpStatus(text) {
  ui.helpStatus.textContent = text;
  ui.helpStatus.hidden = false;
}

function showHelpError(text) {
  ui.helpError.textContent = text;
  ui.helpError.hidden = false;
  ui.helpSend.disabled = false;
}

function onHelpSent(f) {
  const text = HELP_TOLD[f.state] || HELP_TOLD.new;
  if (ui.helpDialog.open) {
    ui.helpNote.value = '';
    closeHelp();
  }
  showHelpStatus(text);
  if (f.state !== 'new') announceText(text);
}

function onHelpError(f) {
  const text = f.message || FRIENDLY_ERRORS[f.code] || FRIENDLY_ERRORS.bad_request;
  if (ui.helpDialog.open) showHelpError(text);
  else showNotice(text);
}

ui.helpOpen.addEventListener('click', openHelp);
ui.helpCancel.addEventListener('click', closeHelp);
ui.helpNote.addEventListener('input', updateHelpCounter);
ui.helpForm.addEventListener('submit', (e) => {
  e.preventDefault();
  sendHelp();
});
ui.helpNote.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendHelp();
  }
});

// --- start ---------------------------------------------------------------------------------------------------

const conn = new ChatConnection(state.groupId, { frame: onFrame, state: onState, outbox: onOutbox });
// Messages typed before a reload that the server never confirmed: show them, they go out first.
for (const entry of conn.outbox.values()) showPending(entry, 'queued');
ui.messages.setAttribute('aria-busy', 'true');
renderPeople();
renderPhase();
updateCounter();
setInterval(tick, 1000);
conn.start();
// For the end-to-end tests and for curious teachers: the connection, read-only use.
window.peerlearnChat = { connection: conn };
