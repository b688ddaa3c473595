// The chat socket: connects, says hello with the last seq shown, reconnects with backoff and
// jitter when the school Wi-Fi drops it, and keeps every message the child typed in an outbox
// until the server acknowledges it. A retry always reuses the message's client_msg_id, so the
// server stores it once however often it is sent. See docs/protocol.md.
//
// This module has no DOM code: chat.js draws what it reports.

export const PROTOCOL_VERSION = 1;
export const MAX_MESSAGE_CHARS = 500;

const PING_EVERY_MS = 20_000; // the app-level ping (browsers cannot send WebSocket pings)
const PONG_WITHIN_MS = 10_000; // no frame at all this long after a ping: the socket is dead
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const RESEND_AFTER_MS = 10_000; // an unacknowledged send on a live socket is sent again
const RETRY_INTERNAL_MS = 2_000;

/** A fresh id for a message. crypto.randomUUID exists only in secure contexts (https or
 * localhost); a school server on plain http at a LAN address is not one. */
export function newClientMsgId() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') {
    try {
      return crypto.randomUUID();
    } catch (_) {
      // fall through
    }
  }
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Characters as the server counts them (code points, so an emoji is one). */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** The delay before reconnect attempt `attempt` (0-based): exponential, capped, with "equal
 * jitter" so that thirty tablets dropped by the same access point do not all come back at once. */
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 10));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/**
 * One chat connection for one group.
 *
 * `events` may have:
 * - `frame(frame)`: every frame from the server, after the connection has handled it;
 * - `state(state, detail)`: 'connecting' | 'open' | 'reconnecting' | 'unauthorized';
 * - `outbox(entry, status, detail)`: 'queued' | 'sending' | 'waiting' | 'acked' | 'refused'.
 */
export class ChatConnection {
  constructor(groupId, events = {}) {
    this.groupId = groupId;
    this.events = events;
    this.ws = null;
    this.connId = 0;
    this.attempt = 0;
    this.lastSeq = 0;
    this.meId = null;
    this.welcomed = false;
    this.synced = false;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.flushTimer = null;
    this.lastFrameAt = 0;
    this.storageKey = `peerlearn.outbox.${groupId}`;
    /** client_msg_id -> { id, text, reply_to, sentOn, sentAt, holdUntil } in the order typed */
    this.outbox = new Map();
    /** A help request asked for while the socket was down, sent once it is back. */
    this.pendingHelp = null;
    this.restoreOutbox();
  }

  /** Opens the socket and keeps it open until `stop()`. */
  start() {
    this.stopped = false;
    globalThis.addEventListener?.('online', () => this.reconnectNow());
    globalThis.document?.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && !this.ws) this.reconnectNow();
    });
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
  }

  /** True once the server said `welcome` on the current socket. */
  get ready() {
    return !!this.ws && this.welcomed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Queues a message; it is sent now or as soon as the socket is back. Returns its entry. */
  send(text, replyTo = null) {
    const entry = { id: newClientMsgId(), text, reply_to: replyTo, sentOn: 0, sentAt: 0, holdUntil: 0 };
    this.outbox.set(entry.id, entry);
    this.saveOutbox();
    this.emitOutbox(entry, this.ready ? 'sending' : 'queued');
    this.flush();
    return entry;
  }

  /**
   * Asks the teacher for help, privately (`note`: optional). Sent now, or once the socket is
   * back (only the latest request waits: the teacher needs to hear it once). The answer is a
   * `help_sent` frame, or an `error` frame with `about: "help"`.
   */
  help(note = '') {
    const frame = note ? { type: 'help', note } : { type: 'help' };
    if (this.ready && this.synced && this.raw(frame)) {
      this.pendingHelp = null;
      return true;
    }
    this.pendingHelp = frame;
    return false;
  }

  /** Tells the group whether the child is typing (only while connected; never queued). */
  typing(on) {
    if (this.ready) this.raw({ type: 'typing', on: !!on });
  }

  /** Reconnects at once (the network came back, the tablet woke up). */
  reconnectNow() {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    this.attempt = 0;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  // --- the socket --------------------------------------------------------------------------

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.connId += 1;
    this.welcomed = false;
    this.synced = false;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}/ws?group=${encodeURIComponent(this.groupId)}`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (_) {
      this.dropped(1006);
      return;
    }
    this.ws = ws;
    this.emitState(this.connId === 1 ? 'connecting' : 'reconnecting');
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      this.hello();
      this.startPing();
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      clearTimeout(this.pongTimer);
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (frame && typeof frame.type === 'string') this.handle(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.dropped(event.code);
    };
    ws.onerror = () => {
      // A close event follows; nothing to do here.
    };
  }

  hello() {
    this.raw({ type: 'hello', v: PROTOCOL_VERSION, last_seq: this.lastSeq });
  }

  dropped(code) {
    this.welcomed = false;
    this.synced = false;
    this.stopTimers();
    if (this.stopped) return;
    if (code === 4001) {
      this.stopped = true;
      this.emitState('unauthorized');
      return;
    }
    this.emitState('reconnecting');
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Gives up on a socket that stopped answering, and reconnects. */
  abandon() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try {
      ws.close(4000);
    } catch (_) {
      // already closing
    }
    this.dropped(1006);
  }

  startPing() {
    this.stopTimers();
    this.pingTimer = setInterval(() => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      const sentAt = Date.now();
      this.raw({ type: 'ping' });
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        if (this.lastFrameAt < sentAt) this.abandon();
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  stopTimers() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    clearTimeout(this.flushTimer);
    this.pingTimer = this.pongTimer = this.flushTimer = null;
  }

  raw(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch (_) {
      return false;
    }
  }

  // --- frames --------------------------------------------------------------------------------

  handle(frame) {
    switch (frame.type) {
      case 'welcome':
        this.welcomed = true;
        this.attempt = 0;
        if (frame.you && typeof frame.you.id === 'number') this.meId = frame.you.id;
        this.emitState('open');
        break;
      case 'message':
        if (typeof frame.seq === 'number' && frame.seq > this.lastSeq) this.lastSeq = frame.seq;
        // A message of ours that was stored before we heard the ack (the socket dropped in
        // between): the replay tells us, and it must not be sent again.
        if (frame.client_msg_id && this.outbox.has(frame.client_msg_id) && this.isMine(frame.sender)) {
          this.settle(frame.client_msg_id, 'acked', { seq: frame.seq, duplicate: true });
        }
        break;
      case 'synced':
        this.synced = true;
        this.flush();
        if (this.pendingHelp && this.raw(this.pendingHelp)) this.pendingHelp = null;
        break;
      case 'ack':
        if (this.outbox.has(frame.client_msg_id)) {
          this.settle(frame.client_msg_id, 'acked', { seq: frame.seq, duplicate: !!frame.duplicate });
        }
        break;
      case 'resync':
        // We fell behind: ask again from what we have shown; the store fills the gap.
        this.synced = false;
        this.hello();
        break;
      case 'error':
        this.handleError(frame);
        break;
      default:
        break;
    }
    this.events.frame?.(frame);
  }

  handleError(frame) {
    const entry = frame.client_msg_id ? this.outbox.get(frame.client_msg_id) : null;
    switch (frame.code) {
      case 'unauthorized':
        this.stop();
        this.emitState('unauthorized');
        return;
      case 'not_ready':
        this.hello();
        return;
      default:
        break;
    }
    if (!entry) return;
    if (frame.code === 'rate_limited') {
      const wait = Number.isFinite(frame.retry_after_ms) ? Math.max(frame.retry_after_ms, 250) : 5_000;
      this.hold(entry, wait, 'rate_limited');
    } else if (frame.code === 'internal') {
      this.hold(entry, RETRY_INTERNAL_MS, 'not_saved');
    } else {
      // message_too_long, empty_message, muted, session_closed, bad_request: sending it again
      // will not help. The page gives the text back to the child.
      this.settle(entry.id, 'refused', { code: frame.code, message: frame.message });
    }
  }

  isMine(sender) {
    return !!sender && sender.kind === 'child' && this.meId !== null && sender.id === this.meId;
  }

  // --- the outbox ------------------------------------------------------------------------------

  /** Holds `entry` and every later one for `ms`, then sends them again in order. */
  /** Keeps `entry` (and everything queued after it, to keep the order) for `ms`; `why` says
   * whether the server asked us to slow down or could not save it (its database is away). */
  hold(entry, ms, why) {
    entry.holdUntil = Date.now() + ms;
    entry.sentOn = 0;
    let after = false;
    for (const e of this.outbox.values()) {
      if (e === entry) after = true;
      if (after) {
        e.sentOn = 0;
        this.emitOutbox(e, 'waiting', { until: entry.holdUntil, why });
      }
    }
    this.scheduleFlush(ms);
  }

  settle(id, status, detail) {
    const entry = this.outbox.get(id);
    if (!entry) return;
    this.outbox.delete(id);
    this.saveOutbox();
    this.emitOutbox(entry, status, detail);
  }

  /** Sends what is due, in the order typed; a held message holds the ones after it. */
  flush() {
    clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.ready || !this.synced) return;
    const now = Date.now();
    let wake = Infinity;
    for (const entry of this.outbox.values()) {
      if (entry.holdUntil > now) {
        wake = Math.min(wake, entry.holdUntil - now);
        break;
      }
      if (entry.sentOn === this.connId && now - entry.sentAt < RESEND_AFTER_MS) {
        wake = Math.min(wake, RESEND_AFTER_MS - (now - entry.sentAt));
        continue;
      }
      const frame = { type: 'send', client_msg_id: entry.id, text: entry.text };
      if (entry.reply_to != null) frame.reply_to = entry.reply_to;
      if (!this.raw(frame)) return;
      entry.sentOn = this.connId;
      entry.sentAt = now;
      entry.holdUntil = 0;
      this.emitOutbox(entry, 'sending');
      wake = Math.min(wake, RESEND_AFTER_MS);
    }
    if (wake !== Infinity) this.scheduleFlush(wake);
  }

  scheduleFlush(ms) {
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => this.flush(), Math.max(ms, 50));
  }

  /** The outbox survives a reload of the page (same tab), so nothing typed is lost. */
  saveOutbox() {
    try {
      const items = Array.from(this.outbox.values(), (e) => ({ id: e.id, text: e.text, reply_to: e.reply_to }));
      if (items.length) sessionStorage.setItem(this.storageKey, JSON.stringify(items));
      else sessionStorage.removeItem(this.storageKey);
    } catch (_) {
      // Storage can be unavailable (private mode); the outbox still lives in memory.
    }
  }

  restoreOutbox() {
    try {
      const items = JSON.parse(sessionStorage.getItem(this.storageKey) || '[]');
      for (const item of Array.isArray(items) ? items : []) {
        if (item && typeof item.id === 'string' && typeof item.text === 'string') {
          this.outbox.set(item.id, { id: item.id, text: item.text, reply_to: item.reply_to ?? null, sentOn: 0, sentAt: 0, holdUntil: 0 });
        }
      }
    } catch (_) {
      // nothing to restore
    }
  }

  emitState(state, detail) {
    this.events.state?.(state, detail);
  }

  emitOutbox(entry, status, detail) {
    this.events.outbox?.(entry, status, detail);
  }
}
