// The stream page: wires the session, socket, chat view, webcam, gifts and moderator tools.
//
// For tests and debugging the page mirrors its connection state on <body>:
// data-conn (connecting|open|reconnecting|busy|kicked|banned|...), data-joins (successful
// joins), data-recovered (the last history frame's `recovered`), data-last-seq.
import { ApiError, api, clearSession, getSession, saveSession, setLoginNotice } from "./api.js";
import { ChatView, el } from "./chat.js";
import { Gifts } from "./gifts.js";
import { Moderation } from "./moderation.js";
import { ChatSocket } from "./socket.js";
import { Webcam } from "./webcam.js";

const $ = (id) => document.getElementById(id);
const ROOM_NAME = /^[A-Za-z0-9_-]{1,40}$/;
const DETAIL_FIRST = new Set(["muted", "slow_mode"]);
const ERROR_TEXT = {
  rate_limited: "Slow down — you are sending messages too fast.",
  slow_mode: "Slow mode is on — wait a moment before sending again.",
  muted: "You are muted for now.",
  duplicate: "You already sent that.",
  message_too_long: "That message is too long.",
  empty_message: "Type something first.",
};

function toast(text, kind = "info") {
  const node = el("div", `toast toast-${kind}`, text);
  $("toasts").append(node);
  setTimeout(() => node.remove(), 4000);
}

let errorTimer = null;
function chatError(text) {
  const node = $("chat-error");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => (node.hidden = true), 4000);
}

// The server's close reason reads "kicked: <the moderator's reason>".
function kickedText(reason) {
  const why = String(reason || "").replace(/^kicked:\s*/, "").trim();
  return `You were kicked by a moderator.${why ? ` Reason: ${why}` : ""}`;
}

function backToLogin(notice) {
  clearSession();
  if (notice) setLoginNotice(notice);
  location.replace("/");
}

function roomFromHash() {
  const match = /room=([^&]+)/.exec(location.hash);
  const room = match ? decodeURIComponent(match[1]) : "main";
  return ROOM_NAME.test(room) ? room : "main";
}

async function loadRooms(current) {
  const select = $("room-select");
  let names = [];
  try {
    const data = await api("/api/rooms", { auth: false });
    names = (data.rooms || []).map((r) => r.name);
  } catch {
    names = [];
  }
  for (const name of ["main", current]) if (!names.includes(name)) names.push(name);
  names.sort((a, b) => (a === "main" ? -1 : b === "main" ? 1 : a.localeCompare(b)));
  select.replaceChildren(...names.map((name) => {
    const option = el("option", "", `#${name}`);
    option.value = name;
    option.selected = name === current;
    return option;
  }));
}

async function main() {
  const session = getSession();
  if (!session) {
    location.replace("/");
    return;
  }
  let me;
  try {
    me = await api("/auth/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      backToLogin("Your session has expired. Please log in again.");
      return;
    }
    me = { username: session.username, role: session.role };
  }
  saveSession({ ...session, username: me.username, role: me.role });
  const moderator = me.role === "moderator" || me.role === "admin";
  document.body.dataset.role = me.role;
  $("user-name").textContent = me.username;
  if (me.role !== "viewer") {
    $("user-role").textContent = me.role;
    $("user-role").hidden = false;
  }

  let room = roomFromHash();
  const currentRoom = () => room;
  const mod = moderator
    ? new Moderation({ panel: $("mod-panel"), list: $("held-list"), count: $("held-count"), room: currentRoom, toast })
    : null;
  const chat = new ChatView($("messages"), {
    me: me.username,
    moderator,
    actions: mod ? (kind, msg, button) => mod.act(kind, msg, button) : undefined,
  });
  const gifts = new Gifts({ bar: $("gift-bar"), stage: $("gift-stage"), top: $("top-gifters"), room: currentRoom, onError: chatError });
  let mutedUntil = 0;

  const input = $("message-input");
  const sendButton = $("send");
  function setComposer(enabled, placeholder) {
    input.disabled = !enabled;
    sendButton.disabled = !enabled;
    input.placeholder = placeholder || "Say something nice…";
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "history":
        for (const message of frame.messages) chat.addChat(message);
        break;
      case "chat":
        chat.addChat(frame);
        break;
      case "held":
      case "blocked":
        if (frame.user === me.username) chat.addUndelivered(frame);
        if (mod && frame.type === "held" && frame.user !== me.username) mod.held(frame);
        break;
      case "deleted":
        chat.remove(frame.id);
        if (mod) mod.forget(frame.id);
        break;
      case "timeout": {
        const until = new Date(Number(frame.until) * 1000);
        const when = until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        chat.notice(`${frame.user} was timed out until ${when}.`, "warn");
        if (frame.user === me.username) {
          mutedUntil = until.getTime();
          setComposer(false, `You are timed out until ${when}`);
          setTimeout(() => {
            if (Date.now() >= mutedUntil) setComposer(true);
          }, Math.max(0, mutedUntil - Date.now()) + 50);
        }
        break;
      }
      case "presence":
        $("viewer-count").textContent = String(frame.viewers ?? frame.viewer_count ?? 0);
        break;
      case "gift":
        gifts.show(frame);
        break;
      case "error":
        // Mutes and slow mode carry the remaining time in `detail`: show the server's words.
        chatError(
          (DETAIL_FIRST.has(frame.code) && frame.detail) || ERROR_TEXT[frame.code] || frame.detail || frame.code,
        );
        break;
      case "system":
        if (frame.message || frame.detail) chat.notice(frame.message || frame.detail);
        break;
      default:
        break; // pong, policy and future frames need no rendering
    }
    document.body.dataset.lastSeq = String(socket.lastSeq);
  }

  let busySaid = false; // the "chat is full" notice, once until the next successful join
  function onStatus(status, detail = {}) {
    document.body.dataset.conn = status;
    const labels = {
      connecting: "connecting…",
      reconnecting: "reconnecting…",
      busy: "chat full, retrying…",
      open: "live",
      kicked: "kicked",
      banned: "banned",
    };
    $("conn-status").textContent = labels[status] || status;
    if (status === "open") {
      busySaid = false;
      document.body.dataset.joins = String(socket.joins);
      document.body.dataset.recovered = String(detail.recovered);
      if (Date.now() >= mutedUntil) setComposer(true);
      if (socket.joins > 1) {
        if (detail.recovered === false) {
          chat.notice("You were away too long: some messages were missed. Showing the latest.", "warn");
        } else {
          chat.notice("Reconnected.", "info");
        }
      }
    } else if (status === "busy") {
      // Said once per streak of refusals; the socket keeps trying every 7.5-15 s.
      if (!busySaid) {
        const why = detail.reason ? ` (${detail.reason})` : "";
        chat.notice(`The chat is full right now${why}. Trying again shortly…`, "warn");
        busySaid = true;
      }
      setComposer(false, "Waiting for a free place…");
    } else if (status === "rejected") {
      backToLogin(`You were signed out (${detail.reason || "session rejected"}). Please log in again.`);
    } else if (status === "kicked") {
      chat.notice(kickedText(detail.reason), "warn");
      setComposer(false, "Disconnected");
      offerRejoin();
    } else if (status === "banned") {
      chat.notice("You are banned from this chat.", "error");
      setComposer(false, "You are banned");
    }
  }

  function offerRejoin() {
    const button = el("button", "rejoin", "Rejoin");
    button.type = "button";
    button.addEventListener("click", () => {
      button.remove();
      socket.start();
    });
    const item = el("li", "notice notice-action");
    item.append(button);
    $("messages").append(item);
  }

  const socket = new ChatSocket({
    username: me.username,
    token: () => (getSession() || {}).token || null,
    room,
    onFrame,
    onStatus,
  });

  function joinRoom(next) {
    if (!ROOM_NAME.test(next)) {
      chatError("Room names are 1–40 letters, digits, '_' or '-'.");
      return;
    }
    if (next === room) return;
    room = next;
    history.replaceState(null, "", `#room=${encodeURIComponent(room)}`);
    $("stage-room").textContent = room;
    chat.clear();
    $("viewer-count").textContent = "0";
    socket.switchRoom(room);
    gifts.refresh();
    if (mod) mod.start();
    loadRooms(room);
  }

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (socket.send(text)) {
      input.value = "";
    } else {
      chatError("Not connected right now — your message was not sent.");
    }
  });
  $("room-select").addEventListener("change", (event) => joinRoom(event.target.value));
  $("room-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("room-input").value.trim();
    if (value) joinRoom(value);
    $("room-input").value = "";
  });
  $("logout").addEventListener("click", () => {
    socket.stop();
    webcam.stop(false);
    clearSession();
    location.replace("/");
  });

  // Webcam
  const stage = $("stage");
  const cameraSelect = $("camera-select");
  const toggle = $("camera-toggle");
  const webcam = new Webcam($("preview"), {
    onState(state, message) {
      stage.dataset.camera = state;
      toggle.textContent = state === "live" ? "Stop camera" : "Start camera";
      toggle.disabled = state === "starting";
      if (state === "error") $("camera-message").textContent = message;
      if (state === "off") $("camera-message").textContent = "Your camera is off. Press Start camera to see yourself.";
      if (state === "live") refreshCameras();
    },
  });
  async function refreshCameras() {
    let cameras = [];
    try {
      cameras = await webcam.cameras();
    } catch {
      cameras = [];
    }
    cameraSelect.replaceChildren(...cameras.map((cam, index) => {
      const option = el("option", "", cam.label || `Camera ${index + 1}`);
      option.value = cam.deviceId;
      option.selected = cam.deviceId === webcam.deviceId;
      return option;
    }));
    cameraSelect.hidden = cameras.length < 2 && !webcam.running;
  }
  toggle.addEventListener("click", () => (webcam.running ? webcam.stop() : webcam.start()));
  cameraSelect.addEventListener("change", () => webcam.start(cameraSelect.value));
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", refreshCameras);
  }

  $("stage-room").textContent = room;
  await loadRooms(room);
  socket.start();
  gifts.refresh();
  if (mod) mod.start();
  window.addEventListener("hashchange", () => joinRoom(roomFromHash()));
  input.focus();
}

main();
