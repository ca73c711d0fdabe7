// HTTP client for the SafeStream API and the session kept in sessionStorage.
//
// The token never goes into a URL: it lives in sessionStorage (cleared when the tab
// closes or on logout) and is sent as a Bearer header or as the socket's first frame.

const SESSION_KEY = "safestream.session";
const NOTICE_KEY = "safestream.notice";

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function getSession() {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    const session = raw ? JSON.parse(raw) : null;
    return session && typeof session.token === "string" ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** Leave a one-line message for the login page (e.g. "your session expired"). */
export function setLoginNotice(text) {
  sessionStorage.setItem(NOTICE_KEY, text);
}

export function takeLoginNotice() {
  const text = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  return text;
}

/**
 * Call the API; resolves with the JSON body, rejects with ApiError.
 * @param {string} path  e.g. "/api/rooms"
 * @param {{method?: string, body?: object, auth?: boolean}} options
 */
export async function api(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const session = getSession();
  if (auth && session) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, "network", "cannot reach the server");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : response.statusText;
    throw new ApiError(response.status, data && data.error, detail);
  }
  return data;
}

export async function login(username, password) {
  const data = await api("/auth/login", {
    method: "POST",
    body: { username, password },
    auth: false,
  });
  const session = { token: data.access_token, username: data.username, role: data.role };
  saveSession(session);
  return session;
}

export async function register(username, email, password) {
  return api("/auth/register", {
    method: "POST",
    body: { username, email, password },
    auth: false,
  });
}
