// The lead inbox: masked previews (outcode, approximate distance, redacted text) with an
// expiry countdown; engaged leads with the customer's name.
import { api, C } from "../api.js";
import { html } from "../ui/html.js";
import { useResource } from "../ui/hooks.js";
import { href } from "../ui/router.js";
import { Countdown, Loading, money, Status, words } from "../ui/widgets.js";

export const GONE = ["declined", "expired", "closed"];
export const NO_LONGER_AVAILABLE = "This job is no longer available";

export function LeadSummary({ lead }) {
  const gone = GONE.includes(lead.status);
  return html`<li>
    <a href=${href("leads", lead.lead_id)}>${gone ? NO_LONGER_AVAILABLE : lead.title}</a>
    ${gone ? null : html`<${Status} value=${lead.status} />`}
    ${gone
      ? null
      : html`<span class="muted">${lead.trade_category} · ${lead.outcode} · about ${lead.approx_distance_miles} miles · ${money(lead.budget_min)}–${money(lead.budget_max)} · ${words(lead.timeframe)}</span>
          ${lead.status === "offered" ? html`<span class="countdown"><${Countdown} until=${lead.expires_at} /></span>` : null}`}
  </li>`;
}

export function LeadInbox() {
  const leads = useResource(() => api.get(`${C}/leads`, { limit: 100 }), []);
  const items = leads.data ? leads.data.items.filter((l) => l.status !== "quote_accepted") : [];
  return html`<div>
    <h1>Leads</h1>
    <${Loading} resource=${leads} />
    ${leads.data && !items.length ? html`<p class="muted">No leads right now. New jobs near you appear here as they are posted.</p>` : null}
    <ul class="list">${items.map((lead) => html`<${LeadSummary} lead=${lead} key=${lead.lead_id} />`)}</ul>
  </div>`;
}
