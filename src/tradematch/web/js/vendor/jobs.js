// My jobs: the leads whose quote the customer accepted.
import { api, C } from "../api.js";
import { html } from "../ui/html.js";
import { useResource } from "../ui/hooks.js";
import { Loading } from "../ui/widgets.js";
import { LeadSummary } from "./leads.js";

export function MyJobs() {
  const leads = useResource(() => api.get(`${C}/leads`, { status: "quote_accepted", limit: 100 }), []);
  const items = leads.data ? leads.data.items : [];
  return html`<div>
    <h1>My jobs</h1>
    <${Loading} resource=${leads} />
    ${leads.data && !items.length ? html`<p class="muted">No jobs won yet.</p>` : null}
    <ul class="list">${items.map((lead) => html`<${LeadSummary} lead=${lead} key=${lead.lead_id} />`)}</ul>
  </div>`;
}
