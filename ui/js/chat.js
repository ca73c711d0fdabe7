// Rendering chat lines. Every user-supplied string goes in with textContent, never as HTML.
//
// The list is bounded (MAX_MESSAGES): the oldest lines are removed as new ones arrive,
// so a stream that runs for hours keeps a small, fast DOM.

export const MAX_MESSAGES = 200;

const AVATAR_COLOURS = ["#ff0050", "#00d2ff", "#ffb800", "#7c5cff", "#00e096", "#ff7a00"];

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function colourFor(name) {
  let hash = 0;
  for (const ch of String(name)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
}

function clock(ts) {
  const date = new Date(ts);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function percent(score) {
  return `${Math.round(Number(score || 0) * 100)}%`;
}

export class ChatView {
  /**
   * @param {HTMLElement} list  the <ol> holding the lines
   * @param {{me: string, moderator: boolean, actions?: (kind: string, msg: object) => void}} opts
   */
  constructor(list, { me, moderator, actions }) {
    this.list = list;
    this.me = me;
    this.moderator = moderator;
    this.actions = actions;
    this.byId = new Map();
    this.scroller = list.parentElement;
  }

  clear() {
    this.list.replaceChildren();
    this.byId.clear();
  }

  /** A delivered chat message (live or from history). Replaces a held copy of it. */
  addChat(frame) {
    const existing = this.byId.get(String(frame.id));
    const node = this.#render(frame, "chat");
    if (existing) {
      existing.replaceWith(node);
    } else {
      this.#append(node);
    }
    this.byId.set(String(frame.id), node);
  }

  /** A `held` or `blocked` frame: shown to its author only, marked as not delivered. */
  addUndelivered(frame) {
    if (this.byId.has(String(frame.id))) return;
    const node = this.#render(frame, frame.type);
    this.#append(node);
    this.byId.set(String(frame.id), node);
  }

  remove(id) {
    const node = this.byId.get(String(id));
    if (!node) return false;
    node.remove();
    this.byId.delete(String(id));
    return true;
  }

  /** A system line (joins, timeouts, gaps); `kind` styles it. */
  notice(text, kind = "info") {
    const node = el("li", `notice notice-${kind}`, text);
    node.setAttribute("role", "status");
    this.#append(node);
  }

  #append(node) {
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    this.list.append(node);
    while (this.list.childElementCount > MAX_MESSAGES) {
      const first = this.list.firstElementChild;
      if (first.dataset.id) this.byId.delete(first.dataset.id);
      first.remove();
    }
    if (atBottom || node.classList.contains("mine")) s.scrollTop = s.scrollHeight;
  }

  #render(msg, kind) {
    const item = el("li", "msg");
    item.dataset.id = String(msg.id);
    if (typeof msg.seq === "number") item.dataset.seq = String(msg.seq);
    item.dataset.user = String(msg.user);
    if (msg.user === this.me) item.classList.add("mine");

    const avatar = el("span", "avatar", String(msg.user || "?").slice(0, 1).toUpperCase());
    avatar.style.backgroundColor = colourFor(msg.user);
    avatar.setAttribute("aria-hidden", "true");

    const body = el("div", "body");
    const meta = el("div", "meta");
    meta.append(el("span", "author", msg.user), el("time", "time", clock(msg.ts)));
    const badges = [];
    if (kind === "held") {
      item.classList.add("held");
      badges.push(el("span", "badge badge-held", "held for review"));
    } else if (kind === "blocked") {
      item.classList.add("blocked");
      badges.push(el("span", "badge badge-blocked", "blocked"));
    }
    if (msg.toxic) {
      item.classList.add("toxic");
      const badge = el("span", "badge badge-toxic", `toxic ${percent(msg.score)}`);
      badge.title = Object.entries(msg.scores || {})
        .map(([name, value]) => `${name}: ${percent(value)}`)
        .join("\n");
      badges.push(badge);
    }
    if (msg.action === "mask" && kind === "chat") {
      item.classList.add("masked");
      badges.push(el("span", "badge badge-masked", "masked"));
    }
    if (msg.action === "unscored") badges.push(el("span", "badge badge-unscored", "unscored"));
    meta.append(...badges);

    body.append(meta, el("p", "text", msg.message));
    if ((kind === "held" || kind === "blocked") && msg.user === this.me) {
      const why = kind === "held"
        ? "Only you can see this until a moderator approves it."
        : "Only you can see this: it was not delivered.";
      body.append(el("p", "hint", why));
    }
    item.append(avatar, body);

    if (this.moderator && kind === "chat" && msg.user !== this.me && this.actions) {
      item.append(this.#modButtons(msg));
    }
    return item;
  }

  #modButtons(msg) {
    const box = el("div", "mod-actions");
    const make = (kind, label, title) => {
      const button = el("button", `mod-btn mod-${kind}`, label);
      button.type = "button";
      button.title = title;
      button.dataset.action = kind;
      button.addEventListener("click", () => this.actions(kind, msg, button));
      return button;
    };
    box.append(
      make("delete", "Delete", "Delete this message for everyone"),
      make("timeout", "Timeout", "Mute this user for 5 minutes"),
      make("ban", "Ban", "Ban this user (click twice)"),
    );
    return box;
  }
}
