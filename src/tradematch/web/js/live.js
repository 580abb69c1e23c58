// The one module that talks WebSocket: one socket per dashboard, events handed to subscribers
// by type, reconnection with resume_from so nothing is missed, and a status for the page.

import { currentSession, signOut } from "./api.js";

const subscribers = new Set(); // {types: Set|null, fn}
const statusListeners = new Set();
let socket = null;
let lastSeq = null; // the seq of the last event handled; null until the first socket is ready
let status = "offline";
let retry = 0;
let timer = null;
let watchdog = null;
let stopped = true;
let heartbeatMs = 15000;

/** Call fn(event) for each live event whose type is in types ("*" for all); also with
 *  {type: "RESYNC"} when the stream (re)starts and lists should be re-read. */
export function subscribe(types, fn) {
  const entry = { types: types === "*" ? null : new Set([...types, "RESYNC"]), fn };
  subscribers.add(entry);
  return () => subscribers.delete(entry);
}

export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

function setStatus(next) {
  status = next;
  document.documentElement.dataset.live = next;
  for (const fn of statusListeners) fn(next);
}

function dispatch(event) {
  for (const { types, fn } of [...subscribers]) {
    if (!types || types.has(event.type)) {
      try {
        fn(event);
      } catch (error) {
        console.warn("live subscriber failed", error);
      }
    }
  }
}

function armWatchdog() {
  clearTimeout(watchdog);
  // The server sends something at least every heartbeat period; silence means a dead link.
  watchdog = setTimeout(() => socket && socket.close(), heartbeatMs * 2 + 5000);
}

function connect() {
  const current = currentSession();
  if (stopped || !current) return;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const url = new URL(`${scheme}://${window.location.host}/api/connection/ws`);
  url.searchParams.set("token", current.token);
  // After a drop, ask for what was missed; with nothing seen yet a fresh start (and RESYNC) is enough.
  if (lastSeq) url.searchParams.set("resume_from", String(lastSeq));
  setStatus("connecting");
  const ws = new WebSocket(url);
  socket = ws;
  ws.onmessage = (message) => {
    if (ws !== socket) return;
    armWatchdog();
    let data;
    try {
      data = JSON.parse(message.data);
    } catch (_) {
      return;
    }
    if (data.type === "ready") {
      heartbeatMs = (data.heartbeat_seconds || 15) * 1000;
      if (lastSeq === null) lastSeq = 0;
      retry = 0;
      setStatus("online");
      // Whatever changed while the page loaded or the socket was down: re-read from the API.
      dispatch({ type: "RESYNC" });
    } else if (data.type === "event") {
      if (data.seq <= lastSeq) return; // already handled (never expected: belt and braces)
      lastSeq = data.seq;
      dispatch(data.event);
    }
  };
  ws.onclose = (close) => {
    if (ws !== socket) return;
    socket = null;
    clearTimeout(watchdog);
    if (stopped) return;
    setStatus("offline");
    if (close.code === 1008) {
      signOut("expired"); // the token is no longer good: sign in again, then resume
      return;
    }
    const delay = Math.min(10000, 500 * 2 ** retry) * (0.75 + Math.random() / 2);
    retry += 1;
    timer = setTimeout(connect, delay);
  };
}

export function startLive() {
  stopLive();
  stopped = false;
  lastSeq = null;
  connect();
}

export function stopLive() {
  stopped = true;
  clearTimeout(timer);
  clearTimeout(watchdog);
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close(1000);
  }
  setStatus("offline");
}

// The browser knows before the socket does when the network comes back: reconnect at once.
window.addEventListener("online", () => {
  if (!stopped && !socket) {
    clearTimeout(timer);
    retry = 0;
    connect();
  }
});
window.addEventListener("offline", () => socket && socket.close());
