// Any job, unmasked: its leads with prices, escrow, the full event log and whether its hash
// chain verifies.
import { ADMIN, api, ApiError } from "../api.js";
import { html } from "../ui/html.js";
import { useResource } from "../ui/hooks.js";
import { describe } from "../ui/timeline.js";
import { Loading, money, Section, Status, when } from "../ui/widgets.js";

export function AdminJob({ jobId }) {
  const onJob = (e) => e.job_id === jobId;
  const job = useResource(() => api.get(`${ADMIN}/jobs/${jobId}`), [jobId], "*", onJob);
  const chain = useResource(() => api.get(`${ADMIN}/jobs/${jobId}/chain`), [jobId], "*", onJob);
  const events = useResource(() => api.get(`${ADMIN}/events`, { job_id: jobId, limit: 1000 }), [jobId], "*", onJob);
  const escrow = useResource(
    () => api.get(`${ADMIN}/jobs/${jobId}/escrow`).catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))),
    [jobId], "*", onJob,
  );
  const j = job.data;
  if (!j) return html`<${Loading} resource=${job} />`;
  const c = chain.data;
  return html`<div class="job">
    <h1>${j.title}</h1>
    <p><${Status} value=${j.status} /> <span class="muted">${j.job_id} · customer ${j.customer_id} · ${j.trade_category} · ${j.postcode} · ${money(j.budget_min)}–${money(j.budget_max)}</span></p>
    ${j.description ? html`<p class="description">${j.description}</p>` : null}
    <${Section} title="Event chain" id="chain-title">
      ${c
        ? c.ok
          ? html`<p class="ok" role="status">Chain verified: ${c.events} events, no alteration.</p>`
          : html`<p class="error" role="alert">Chain broken at event ${c.first_break.event_id} (seq ${c.first_break.seq}): ${c.first_break.reason}</p>`
        : html`<${Loading} resource=${chain} />`}
    <//>
    <${Section} title="Leads" id="leads-title">
      <table>
        <caption>Leads with prices</caption>
        <thead><tr><th scope="col">Lead</th><th scope="col">Vendor</th><th scope="col">Status</th><th scope="col">Price</th><th scope="col">Distance</th><th scope="col">Offered</th></tr></thead>
        <tbody>
          ${j.leads.map((l) => html`<tr><td>${l.lead_id}</td><td>${l.vendor_id}</td><td>${l.status}</td><td class="num">${money(l.price)}</td><td class="num">${l.distance_miles.toFixed(1)} mi</td><td>${when(l.offered_at)}</td></tr>`)}
        </tbody>
      </table>
    <//>
    ${escrow.data
      ? html`<${Section} title="Escrow" id="escrow-title">
          <dl class="facts">
            <dt>Status</dt><dd><${Status} value=${escrow.data.status} /></dd>
            <dt>Total</dt><dd>${money(escrow.data.total)}</dd>
            <dt>Funded</dt><dd>${money(escrow.data.funded)}</dd>
            <dt>Released</dt><dd>${money(escrow.data.released)}</dd>
            <dt>Refunded</dt><dd>${money(escrow.data.refunded)}</dd>
            <dt>Held now</dt><dd>${money(escrow.data.balance)}</dd>
          </dl>
        <//>`
      : null}
    <${Section} title="Event log" id="log-title">
      <table>
        <caption>Every event of the job, unmasked</caption>
        <thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Actor</th><th scope="col">Payload</th></tr></thead>
        <tbody>
          ${(events.data ? events.data.items : []).map(
            (e) => html`<tr><td class="num">${e.seq}</td><td>${when(e.created_at)}</td><td>${describe(e.type)} <code>${e.type}</code></td><td>${e.actor_role} ${e.actor_id || ""}</td><td><code class="payload">${JSON.stringify(e.payload)}</code></td></tr>`,
          )}
        </tbody>
      </table>
    <//>
  </div>`;
}
