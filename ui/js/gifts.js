// Gifts: the send bar, the floating animation on the stage, and the top-gifters strip.
import { api } from "./api.js";
import { el } from "./chat.js";

export const GIFTS = {
  1: { name: "rose" },
  2: { name: "heart" },
  3: { name: "star" },
  4: { name: "rocket" },
  5: { name: "crown" },
};

function icon(name, className) {
  const img = el("img", className);
  img.src = GIFTS_DIR + (Object.values(GIFTS).some((g) => g.name === name) ? name : "star") + ".svg";
  img.alt = "";
  img.setAttribute("aria-hidden", "true");
  return img;
}

const GIFTS_DIR = "/ui/img/gifts/";
const MAX_FLYING = 8;
const TOP_LIMIT = 5;
const TOP_REFRESH_MS = 1000;

export class Gifts {
  /**
   * @param {{bar: HTMLElement, stage: HTMLElement, top: HTMLElement,
   *          room: () => string, onError: (text: string) => void}} opts
   */
  constructor({ bar, stage, top, room, onError }) {
    this.bar = bar;
    this.stage = stage;
    this.top = top;
    this.room = room;
    this.onError = onError;
    this.refreshTimer = null;
    this.lane = 0;
    this.#buildBar();
  }

  #buildBar() {
    for (const [id, gift] of Object.entries(GIFTS)) {
      const button = el("button", "gift-btn");
      button.type = "button";
      button.dataset.giftId = id;
      button.title = `Send a ${gift.name}`;
      button.setAttribute("aria-label", `Send a ${gift.name}`);
      button.append(icon(gift.name, "gift-icon"), el("span", "gift-name", gift.name));
      button.addEventListener("click", () => this.send(Number(id), 1, button));
      this.bar.append(button);
    }
  }

  async send(giftId, amount, button) {
    if (button) button.disabled = true;
    try {
      await api("/api/gift", {
        method: "POST",
        body: { gift_id: giftId, amount, room: this.room() },
      });
    } catch (err) {
      this.onError(`Gift not sent: ${err.detail || err.message}`);
    } finally {
      if (button) setTimeout(() => (button.disabled = false), 400);
    }
  }

  /** A `gift` frame from the socket: animate it and refresh the strip. */
  show(frame) {
    const gift = GIFTS[frame.gift_id] || { name: "gift" };
    while (this.stage.childElementCount >= MAX_FLYING) this.stage.firstElementChild.remove();
    const card = el("div", "gift-fly");
    card.append(
      icon(gift.name, "gift-fly-icon"),
      el("span", "gift-fly-text", `${frame.from} sent ${gift.name}${frame.amount > 1 ? ` ×${frame.amount}` : ""}`),
    );
    // Lanes, so gifts sent together do not cover each other.
    card.style.left = `${6 + (this.lane++ % 4) * 15}%`;
    card.style.bottom = `${10 + (this.lane % 2) * 8}%`;
    // animationend bubbles from the icon's own pop animation: only the card's ends it.
    card.addEventListener("animationend", (event) => {
      if (event.target === card) card.remove();
    });
    setTimeout(() => card.remove(), 6000);
    this.stage.append(card);
    this.scheduleRefresh();
  }

  scheduleRefresh() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.refresh();
    }, TOP_REFRESH_MS);
  }

  async refresh() {
    let data;
    try {
      data = await api(`/api/gifts/top?room=${encodeURIComponent(this.room())}&limit=${TOP_LIMIT}`, { auth: false });
    } catch {
      return;
    }
    const rows = (data && data.top) || [];
    this.top.replaceChildren();
    if (rows.length === 0) {
      this.top.append(el("li", "top-empty", "No gifts yet — be the first!"));
      return;
    }
    rows.forEach((row, index) => {
      const item = el("li", `top-gifter rank-${index + 1}`);
      item.append(
        el("span", "rank", String(index + 1)),
        el("span", "top-user", row.user),
        el("span", "top-amount", String(row.amount)),
      );
      this.top.append(item);
    });
  }
}
