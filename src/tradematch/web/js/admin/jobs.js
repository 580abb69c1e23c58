// Every job, newest first, filterable by status.
import { api, C } from "../api.js";
import { html, useState } from "../ui/html.js";
import { useResource } from "../ui/hooks.js";
import { href } from "../ui/router.js";
import { Loading, money, Select, Status, when } from "../ui/widgets.js";

const STATUSES = ["", "draft", "live", "in_progress", "disputed", "completed", "closed", "cancelled", "expired"];

export function AllJobs() {
  const [status, setStatus] = useState("");
  const jobs = useResource(() => api.get(`${C}/jobs`, { status, limit: 100 }), [status], ["JOB_CREATED", "JOB_POSTED", "JOB_IN_PROGRESS", "JOB_COMPLETED", "JOB_CLOSED", "JOB_CANCELLED", "JOB_EXPIRED", "DISPUTE_RAISED", "DISPUTE_RESOLVED"]);
  const items = jobs.data ? jobs.data.items : [];
  return html`<div>
    <h1>Jobs</h1>
    <form onChange=${(e) => setStatus(e.target.value)} onSubmit=${(e) => e.preventDefault()}>
      <${Select} label="Status" name="status" value=${status} options=${STATUSES.map((s) => [s, s ? s.replace(/_/g, " ") : "Any"])} />
    </form>
    <${Loading} resource=${jobs} />
    <ul class="list">
      ${items.map(
        (j) => html`<li>
          <a href=${href("jobs", j.job_id)}>${j.title}</a> <${Status} value=${j.status} />
          <span class="muted">${j.job_id} · ${j.trade_category} · ${j.postcode} · ${money(j.budget_min)}–${money(j.budget_max)} · ${when(j.created_at)}</span>
        </li>`,
      )}
    </ul>
  </div>`;
}
