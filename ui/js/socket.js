// A reconnecting chat socket: auth as the first frame, resume with ?since=, dedupe by id.
//
// Batched delivery (?batch=1): the server sends one frame per short tick carrying a JSON
// array of events; each is handled as if it had come in its own frame. A lone object
// (an older server) is handled too.
//
// Close codes (docs/protocol.md): 1001/1006/1011/1012/4008 and network drops reconnect
// with exponential backoff and full jitter; 1013 (limits) reports "busy" and waits
// longer (7.5-15 s) before it tries again; 1008 (bad token) goes back to login; 4000
// kicked and 4003 banned stop and let the page decide. On reconnect `since` is the
// highest seq of a chat message we saw, so the
// server replays exactly what was missed; ids seen are remembered (bounded) so a message
// that arrives twice (history overlap, replay after approval) is shown once.

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 8000;
const LIMITS_RETRY_MS = 15000;
const PING_INTERVAL_MS = 25000;
const SEEN_IDS_MAX = 2000;

const RECONNECT_CODES = new Set([1001, 1005, 1006, 1009, 1011, 1012, 4008]);
const STOP_CODES = {
  1008: "rejected",
  4000: "kicked",
  4003: "banned",
};

export class ChatSocket {
  /**
   * @param {{username: string, token: () => string|null, room: string,
   *          onFrame: (frame: object) => void,
   *          onStatus: (status: string, detail?: object) => void}} options
   */
  constructor({ username, token, room, onFrame, onStatus }) {
    this.username = username;
    this.token = token;
    this.room = room;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.ws = null;
    this.lastSeq = 0;
    this.seen = new Set();
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.stopped = true;
    this.joins = 0;
  }

  /** Open the socket (again); safe to call when already open. */
  start() {
    this.stopped = false;
    if (!this.ws) this.#open();
  }

  /** Close for good (logout, room change); no reconnect. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "bye");
    }
  }

  /** Switch rooms: forget the old room's position and ids. */
  switchRoom(room) {
    this.stop();
    this.room = room;
    this.lastSeq = 0;
    this.seen.clear();
    this.attempt = 0;
    this.joins = 0;
    this.start();
  }

  /** Send a chat line; returns false when not connected. */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ type: "chat", message }));
    return true;
  }

  get connected() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  #url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const params = new URLSearchParams({ room: this.room, batch: "1" });
    if (this.lastSeq > 0) params.set("since", String(this.lastSeq));
    return `${scheme}://${location.host}/ws/${encodeURIComponent(this.username)}?${params}`;
  }

  #open() {
    const token = this.token();
    if (!token) {
      this.stopped = true;
      this.onStatus("rejected", { reason: "not logged in" });
      return;
    }
    this.onStatus(this.joins === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.#url());
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify({ type: "auth", token }));
      clearInterval(this.pinger);
      this.pinger = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      }, PING_INTERVAL_MS);
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      for (const frame of Array.isArray(data) ? data : [data]) {
        if (this.ws !== ws) return; // a frame of this batch closed or replaced the socket
        this.#receive(frame);
      }
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pinger);
      this.#closed(event.code, event.reason);
    });
  }

  #receive(frame) {
    if (frame.type === "history") {
      // A successful join: the next drop starts the backoff from scratch.
      this.joins += 1;
      this.attempt = 0;
      const fresh = (frame.messages || []).filter((m) => this.#firstTime(m));
      this.onStatus("open", { recovered: frame.recovered, seq: frame.seq });
      this.onFrame({ ...frame, messages: fresh });
      return;
    }
    if (frame.type === "chat") {
      if (!this.#firstTime(frame)) return;
    }
    this.onFrame(frame);
  }

  /** Remember a chat message; false when its id was already delivered. */
  #firstTime(message) {
    if (typeof message.seq === "number" && message.seq > this.lastSeq) this.lastSeq = message.seq;
    if (message.id === undefined || message.id === null) return true;
    const id = String(message.id);
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS_MAX) {
      const oldest = this.seen.values().next().value;
      this.seen.delete(oldest);
    }
    return true;
  }

  #closed(code, reason) {
    if (this.stopped) return;
    const stop = STOP_CODES[code];
    if (stop) {
      this.stopped = true;
      this.onStatus(stop, { code, reason });
      return;
    }
    let delay;
    if (code === 1013) {
      delay = LIMITS_RETRY_MS * (0.5 + Math.random() / 2);
    } else {
      // Full jitter: uniform in [0, min(max, base * 2^attempt)], at least 250 ms.
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
      delay = Math.max(250, Math.random() * ceiling);
    }
    if (!RECONNECT_CODES.has(code) && code !== 1013 && code !== 1000) {
      // Unknown codes: still retry, a chat that silently dies is worse.
      delay = Math.max(delay, 1000);
    }
    this.attempt += 1;
    // 1013: the server is full (node, user or IP limit); say so rather than "reconnecting".
    this.onStatus(code === 1013 ? "busy" : "reconnecting", { code, reason, delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped && !this.ws) this.#open();
    }, delay);
  }
}
