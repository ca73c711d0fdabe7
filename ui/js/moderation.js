// Moderator tools: per-message actions and the hold queue (moderator/admin role only).
import { api } from "./api.js";
import { el } from "./chat.js";

const HELD_REFRESH_MS = 5000;
const TIMEOUT_SECS = 300;

export class Moderation {
  /**
   * @param {{panel: HTMLElement, list: HTMLElement, count: HTMLElement,
   *          room: () => string, toast: (text: string, kind?: string) => void}} opts
   */
  constructor({ panel, list, count, room, toast }) {
    this.panel = panel;
    this.list = list;
    this.count = count;
    this.room = room;
    this.toast = toast;
    this.timer = null;
    this.panel.hidden = false;
  }

  start() {
    this.refresh();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), HELD_REFRESH_MS);
  }

  /** Message actions from the chat view: delete, timeout (mute) or ban. */
  async act(kind, msg, button) {
    if (kind === "ban" && button.dataset.armed !== "1") {
      // Two clicks for a ban, without a modal dialog.
      button.dataset.armed = "1";
      button.textContent = "Sure?";
      setTimeout(() => {
        button.dataset.armed = "";
        button.textContent = "Ban";
      }, 3000);
      return;
    }
    const calls = {
      delete: [`/api/admin/messages/${encodeURIComponent(msg.id)}/delete`, { reason: "deleted from chat" }],
      timeout: ["/api/admin/mute", { username: msg.user, duration_secs: TIMEOUT_SECS, reason: "timeout from chat" }],
      ban: ["/api/admin/ban", { username: msg.user, reason: "banned from chat" }],
    };
    const [path, body] = calls[kind];
    button.disabled = true;
    try {
      await api(path, { method: "POST", body });
      const done = { delete: "Message deleted", timeout: `${msg.user} timed out for 5 minutes`, ban: `${msg.user} banned` };
      this.toast(done[kind], "ok");
    } catch (err) {
      this.toast(`${kind} failed: ${err.detail || err.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  /** A `held` frame for someone else's message: put it in the queue. */
  held(frame) {
    this.#upsert(frame);
  }

  async refresh() {
    let data;
    try {
      data = await api(`/api/admin/held?room=${encodeURIComponent(this.room())}`);
    } catch (err) {
      if (err.status === 403) this.stop();
      return;
    }
    const held = (data && data.held) || [];
    const ids = new Set(held.map((m) => String(m.id)));
    for (const item of [...this.list.children]) {
      if (item.dataset.id && !ids.has(item.dataset.id)) item.remove();
    }
    for (const message of held) this.#upsert(message);
    this.#updateCount();
  }

  stop() {
    clearInterval(this.timer);
    this.panel.hidden = true;
  }

  forget(id) {
    const item = this.list.querySelector(`li[data-id="${CSS.escape(String(id))}"]`);
    if (item) item.remove();
    this.#updateCount();
  }

  #upsert(message) {
    const id = String(message.id);
    if (this.list.querySelector(`li[data-id="${CSS.escape(id)}"]`)) return;
    const item = el("li", "held-item");
    item.dataset.id = id;
    const head = el("div", "held-head");
    head.append(el("span", "author", message.user), el("span", "badge badge-held", message.reason || "held"));
    const text = el("p", "text", message.message);
    const buttons = el("div", "held-actions");
    for (const [verb, label] of [["approve", "Approve"], ["reject", "Reject"]]) {
      const button = el("button", `held-btn held-${verb}`, label);
      button.type = "button";
      button.addEventListener("click", () => this.#decide(id, verb, item, button));
      buttons.append(button);
    }
    item.append(head, text, buttons);
    this.list.append(item);
    this.#updateCount();
  }

  async #decide(id, verb, item, button) {
    button.disabled = true;
    try {
      await api(`/api/admin/held/${encodeURIComponent(id)}/${verb}`, { method: "POST" });
      item.remove();
      this.#updateCount();
    } catch (err) {
      this.toast(`${verb} failed: ${err.detail || err.message}`, "error");
      if (err.status === 404 || err.status === 409) item.remove();
    } finally {
      button.disabled = false;
    }
  }

  #updateCount() {
    const n = this.list.querySelectorAll("li.held-item").length;
    this.count.textContent = String(n);
    this.panel.classList.toggle("has-items", n > 0);
  }
}
