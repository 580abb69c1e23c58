// Entry point: sign in, then route each role to its dashboard, with one live socket.
//
// Only the sign-in screen is in this module's static graph (index.html preloads all of it, so
// the browser fetches it in one round rather than level by level). Each role's dashboard is
// imported once a session says which one is needed: a cold visitor never waits for the three.
import { currentSession, onSessionChange } from "./api.js";
import { startLive, stopLive } from "./live.js";
import { html, mount, useEffect, useState } from "./ui/html.js";
import { SignIn } from "./ui/auth.js";

const APPS = {
  customer: () => import("./customer/app.js").then((m) => m.CustomerApp),
  vendor: () => import("./vendor/app.js").then((m) => m.VendorApp),
  admin: () => import("./admin/app.js").then((m) => m.AdminApp),
};
const loaded = {};

// The role's dashboard, imported on first use; a failed import (the network dropped) can be
// retried without reloading the page.
function RoleApp({ role, userId }) {
  const [attempt, setAttempt] = useState(0);
  const [status, setStatus] = useState("loading");
  useEffect(() => {
    if (loaded[role]) return undefined;
    let current = true;
    setStatus("loading");
    APPS[role]()
      .then((App) => {
        loaded[role] = App;
        if (current) setStatus("ready");
      })
      .catch(() => current && setStatus("failed"));
    return () => {
      current = false;
    };
  }, [role, attempt]);
  const App = loaded[role];
  if (App) return html`<${App} key=${userId} />`;
  if (status === "failed") {
    return html`<main id="main" class="boot" role="alert">
      <p>Your dashboard could not be loaded. Check your connection.</p>
      <button type="button" onClick=${() => setAttempt((n) => n + 1)}>Try again</button>
    </main>`;
  }
  return html`<p class="boot" role="status">Loading your dashboard…</p>`;
}

function Root() {
  const [state, setState] = useState({ session: currentSession(), reason: null });
  useEffect(
    () =>
      onSessionChange((session, reason) => {
        if (!session && window.location.hash) window.location.hash = "";
        setState({ session, reason });
      }),
    [],
  );
  useEffect(() => {
    if (state.session) startLive();
    else stopLive();
  }, [state.session && state.session.token]);
  if (!state.session) return html`<${SignIn} reason=${state.reason} />`;
  return html`<${RoleApp} role=${state.session.role} userId=${state.session.userId} />`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading…" placeholder
mount(html`<${Root} />`, root);
