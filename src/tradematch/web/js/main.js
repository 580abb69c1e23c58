// Entry point: sign in, then route each role to its dashboard, with one live socket.
import { currentSession, onSessionChange } from "./api.js";
import { startLive, stopLive } from "./live.js";
import { html, mount, useEffect, useState } from "./ui/html.js";
import { SignIn } from "./ui/auth.js";
import { CustomerApp } from "./customer/app.js";
import { VendorApp } from "./vendor/app.js";
import { AdminApp } from "./admin/app.js";

const APPS = { customer: CustomerApp, vendor: VendorApp, admin: AdminApp };

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
  const App = APPS[state.session.role];
  return html`<${App} key=${state.session.userId} />`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading…" placeholder
mount(html`<${Root} />`, root);
