// Sign in and sign up (customer or tradesperson).
import { api, C, signIn } from "../api.js";
import { html, useState } from "./html.js";
import { formValues, useAction, useResource } from "./hooks.js";
import { ErrorNote, Field, Notice } from "./widgets.js";

export function SignIn({ reason }) {
  const [mode, setMode] = useState("sign-in");
  return html`<main id="main" class="auth">
    <h1>TradeMatch</h1>
    <p class="muted">Local tradespeople for your jobs, and jobs for local tradespeople.</p>
    ${reason === "expired" ? html`<${Notice}>Your session has ended. Please sign in again.<//>` : null}
    <div class="tabs" role="group" aria-label="Account">
      <button type="button" aria-pressed=${mode === "sign-in"} onClick=${() => setMode("sign-in")}>Sign in</button>
      <button type="button" aria-pressed=${mode === "sign-up"} onClick=${() => setMode("sign-up")}>Create an account</button>
    </div>
    ${mode === "sign-in" ? html`<${SignInForm} />` : html`<${SignUpForm} />`}
  </main>`;
}

function SignInForm() {
  const action = useAction();
  const submit = (e) => {
    e.preventDefault();
    const { email, password } = formValues(e.target);
    action.run(async () => signIn(await api.post("/api/auth/login", { email, password })));
  };
  return html`<form class="card" onSubmit=${submit}>
    <h2>Sign in</h2>
    <${Field} label="Email" name="email" type="email" required autocomplete="username" />
    <${Field} label="Password" name="password" type="password" required autocomplete="current-password" />
    <${ErrorNote} error=${action.error} />
    <button type="submit" disabled=${action.busy}>Sign in</button>
  </form>`;
}

function SignUpForm() {
  const [role, setRole] = useState("customer");
  const trades = useResource(() => api.get(`${C}/trades`), []);
  const action = useAction();
  const submit = (e) => {
    e.preventDefault();
    const values = formValues(e.target);
    const body = {
      email: values.email,
      password: values.password,
      name: values.name,
      phone: values.phone,
      postcode: values.postcode,
      role,
    };
    if (role === "vendor") {
      body.business_name = values.business_name;
      body.trades = new FormData(e.target).getAll("trades");
      body.service_radius_miles = Number(values.service_radius_miles);
    }
    action.run(async () => {
      await api.post("/api/auth/register", body, `register:${body.email}`);
      signIn(await api.post("/api/auth/login", { email: body.email, password: body.password }));
    });
  };
  return html`<form class="card" onSubmit=${submit}>
    <h2>Create an account</h2>
    <fieldset>
      <legend>I am a</legend>
      <label class="inline"><input type="radio" name="role" value="customer" checked=${role === "customer"} onChange=${() => setRole("customer")} /> Customer</label>
      <label class="inline"><input type="radio" name="role" value="vendor" checked=${role === "vendor"} onChange=${() => setRole("vendor")} /> Tradesperson</label>
    </fieldset>
    <${Field} label="Your name" name="name" required autocomplete="name" />
    <${Field} label="Email" name="email" type="email" required autocomplete="email" />
    <${Field} label="Password" name="password" type="password" required minlength="8" autocomplete="new-password" />
    <${Field} label="Phone" name="phone" type="tel" required autocomplete="tel" />
    <${Field} label="Postcode" name="postcode" required autocomplete="postal-code" />
    ${role === "vendor"
      ? html`<${Field} label="Business name" name="business_name" required />
          <fieldset>
            <legend>Trades</legend>
            ${(trades.data ? trades.data.items : []).map(
              (trade) => html`<label class="inline"><input type="checkbox" name="trades" value=${trade} /> ${trade}</label>`,
            )}
          </fieldset>
          <${Field} label="Service radius (miles)" name="service_radius_miles" type="number" min="1" max="100" value="10" required />`
      : null}
    <${ErrorNote} error=${action.error} />
    <button type="submit" disabled=${action.busy}>Create account</button>
  </form>`;
}
