// The login / register page: on success the session is stored and we go to /chat.
import { ApiError, getSession, login, register, takeLoginNotice } from "./api.js";

const $ = (id) => document.getElementById(id);

function showError(text) {
  const el = $("form-error");
  el.textContent = text;
  el.hidden = !text;
}

function showNotice(text) {
  const el = $("form-notice");
  el.textContent = text || "";
  el.hidden = !text;
}

function selectTab(which) {
  const isLogin = which === "login";
  $("tab-login").classList.toggle("active", isLogin);
  $("tab-register").classList.toggle("active", !isLogin);
  $("tab-login").setAttribute("aria-selected", String(isLogin));
  $("tab-register").setAttribute("aria-selected", String(!isLogin));
  $("login-form").hidden = !isLogin;
  $("register-form").hidden = isLogin;
  showError("");
}

function describe(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return "Incorrect username or password.";
    if (err.status === 409) return "That username is taken.";
    if (err.status === 0) return "Cannot reach the server. Check your connection.";
    return err.detail || "Something went wrong.";
  }
  return String(err);
}

async function withBusy(button, work) {
  button.disabled = true;
  try {
    await work();
  } catch (err) {
    showError(describe(err));
  } finally {
    button.disabled = false;
  }
}

function goToChat() {
  location.assign("/chat");
}

function init() {
  if (getSession()) {
    goToChat();
    return;
  }
  showNotice(takeLoginNotice());
  $("tab-login").addEventListener("click", () => selectTab("login"));
  $("tab-register").addEventListener("click", () => selectTab("register"));

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    withBusy($("login-submit"), async () => {
      await login($("login-username").value.trim(), $("login-password").value);
      goToChat();
    });
  });

  $("register-form").addEventListener("submit", (event) => {
    event.preventDefault();
    withBusy($("register-submit"), async () => {
      const username = $("register-username").value.trim();
      const password = $("register-password").value;
      if (password.length < 8) throw new Error("Use at least 8 characters for the password.");
      await register(username, $("register-email").value.trim(), password);
      await login(username, password);
      goToChat();
    });
  });
  $("login-username").focus();
}

init();
