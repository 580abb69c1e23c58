// My business profile: name, trades, base postcode, radius, whether I take new leads.
import { api, C } from "../api.js";
import { html, useState } from "../ui/html.js";
import { formValues, useAction, useResource } from "../ui/hooks.js";
import { ErrorNote, Field, Loading, Notice, words } from "../ui/widgets.js";

export function Profile() {
  const me = useResource(() => api.get("/api/auth/me"), [], ["REVIEW_POSTED"]);
  const trades = useResource(() => api.get(`${C}/trades`), []);
  const action = useAction();
  const [saved, setSaved] = useState(false);
  if (!me.data || !trades.data) return html`<${Loading} resource=${me.data ? trades : me} />`;
  const p = me.data.vendor_profile;
  const submit = (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    const body = {
      business_name: v.business_name,
      trades: new FormData(ev.target).getAll("trades"),
      postcode: v.postcode,
      service_radius_miles: Number(v.service_radius_miles),
      accepting_leads: v.accepting_leads === "on",
    };
    setSaved(false);
    action.run(async () => {
      await api.patch(`${C}/vendors/me`, body);
      setSaved(true);
      me.reload();
    });
  };
  return html`<form class="card" onSubmit=${submit}>
    <h1>Profile</h1>
    <p class="muted">${p.rating_average ? `★ ${p.rating_average} from ${p.rating_count} reviews` : "No reviews yet"}
      ${p.badges.map((b) => html` <span class="badge-pill">${words(b)}</span>`)}</p>
    <${Field} label="Business name" name="business_name" value=${p.business_name} required maxlength="120" />
    <fieldset>
      <legend>Trades</legend>
      ${trades.data.items.map(
        (t) => html`<label class="inline"><input type="checkbox" name="trades" value=${t} defaultChecked=${p.trades.includes(t)} /> ${t}</label>`,
      )}
    </fieldset>
    <${Field} label="Base postcode" name="postcode" value=${p.postcode} required />
    <${Field} label="Service radius (miles)" name="service_radius_miles" type="number" min="1" max="100" value=${p.service_radius_miles} required />
    <label class="inline"><input type="checkbox" name="accepting_leads" defaultChecked=${p.accepting_leads} /> Send me new leads</label>
    <${ErrorNote} error=${action.error} />
    ${saved ? html`<${Notice}>Profile saved.<//>` : null}
    <button type="submit" class="primary" disabled=${action.busy}>Save profile</button>
  </form>`;
}
