// The one module that talks HTTP. Screens call api.get/post/...; they never build URLs by hand
// beyond the API path, never read headers and never parse error bodies themselves.
//
// The access token lives in memory and in sessionStorage (this tab only, gone when it closes):
// no cookie, so no cross-site request can carry it (no CSRF); scripts from other origins cannot
// run (Content-Security-Policy), which is what keeps it from XSS. See docs/security.md.

const SESSION_KEY = "tradematch.session";

/** The API's one error shape: {error, code, ...details}. */
export class ApiError extends Error {
  constructor(status, body) {
    const text = body && typeof body.error === "string" ? body.error : `Request failed (${status})`;
    super(text);
    this.status = status;
    this.code = (body && body.code) || "NETWORK_ERROR";
    this.details = body || {};
  }
}

let session = readSession();
const sessionListeners = new Set();

function readSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (saved && typeof saved.token === "string" && saved.expiresAt > Date.now()) return saved;
  } catch (_) {
    /* unreadable: start signed out */
  }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

function claimsOf(token) {
  const part = token.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  const { sub, role } = JSON.parse(json);
  return { userId: sub, role };
}

export function currentSession() {
  return session;
}

export function onSessionChange(listener) {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

function setSession(next, reason) {
  session = next;
  if (next) sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(SESSION_KEY);
  keys.clear();
  for (const listener of sessionListeners) listener(next, reason);
}

export function signIn(tokenResponse) {
  const { access_token: token, expires_in: expiresIn } = tokenResponse;
  setSession({ token, expiresAt: Date.now() + expiresIn * 1000, ...claimsOf(token) }, "signed-in");
}

export function signOut(reason = "signed-out") {
  setSession(null, reason);
}

// Idempotency keys, one per user action (e.g. "fund:job_…"): every retry of the action sends
// the same key until it succeeds, so a retry after a timeout, a 402 or a dropped connection can
// never do the thing twice. The next, separate action gets a new key.
const keys = new Map();

function keyFor(action) {
  if (!keys.has(action)) keys.set(action, crypto.randomUUID());
  return keys.get(action);
}

async function request(method, path, { body, query, action, form } = {}) {
  const headers = { Accept: "application/json" };
  if (session) {
    if (session.expiresAt <= Date.now()) {
      signOut("expired");
      throw new ApiError(401, { error: "Your session has ended; please sign in again", code: "UNAUTHORIZED" });
    }
    headers.Authorization = `Bearer ${session.token}`;
  }
  if (action) headers["Idempotency-Key"] = keyFor(action);
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: "omit" });
  } catch (_) {
    throw new ApiError(0, { error: "Cannot reach TradeMatch; check your connection and try again", code: "NETWORK_ERROR" });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && session) signOut("expired");
    throw new ApiError(response.status, data);
  }
  if (action) keys.delete(action);
  return data;
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  post: (path, body = {}, action) => request("POST", path, { body, action }),
  patch: (path, body = {}, action) => request("PATCH", path, { body, action }),
  put: (path, body = {}, action) => request("PUT", path, { body, action }),
  upload: (path, form, action) => request("POST", path, { form, action }),
};

export const C = "/api/connection";
export const ADMIN = "/api/admin";
