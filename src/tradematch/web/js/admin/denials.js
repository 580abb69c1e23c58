// Authorization denials by actor: who keeps asking for what they may not see.
import { ADMIN, api } from "../api.js";
import { html, useState } from "../ui/html.js";
import { useResource } from "../ui/hooks.js";
import { Loading, Select, when } from "../ui/widgets.js";

export function Denials() {
  const [status, setStatus] = useState("404");
  const report = useResource(() => api.get(`${ADMIN}/denials`, { status, hours: 24 }), [status]);
  const items = report.data ? report.data.items : [];
  return html`<div>
    <h1>Authorization denials</h1>
    <form onChange=${(e) => setStatus(e.target.value)} onSubmit=${(e) => e.preventDefault()}>
      <${Select} label="Answer" name="status" value=${status} options=${[["404", "404 Not found"], ["403", "403 Forbidden"], ["401", "401 Unauthorized"]]} />
    </form>
    <${Loading} resource=${report} />
    ${report.data && !items.length ? html`<p class="muted">No denials in the last 24 hours.</p>` : null}
    ${items.length
      ? html`<table>
          <caption>Denials in the last 24 hours, by actor</caption>
          <thead><tr><th scope="col">Actor</th><th scope="col">Role</th><th scope="col">Count</th><th scope="col">Last seen</th></tr></thead>
          <tbody>${items.map((d) => html`<tr><td>${d.actor_id}</td><td>${d.role}</td><td class="num">${d.count}</td><td>${when(d.last_seen_at)}</td></tr>`)}</tbody>
        </table>`
      : null}
  </div>`;
}
