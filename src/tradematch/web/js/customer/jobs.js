// My jobs, newest first, with their status.
import { api, C } from "../api.js";
import { html } from "../ui/html.js";
import { useResource } from "../ui/hooks.js";
import { href } from "../ui/router.js";
import { Loading, money, Status, when } from "../ui/widgets.js";

export function MyJobs() {
  const jobs = useResource(() => api.get(`${C}/jobs`, { limit: 100 }), []);
  const items = jobs.data ? jobs.data.items : [];
  return html`<div>
    <h1>My jobs</h1>
    <p><a class="button" href=${href("post")}>Post a job</a></p>
    <${Loading} resource=${jobs} />
    ${jobs.data && !items.length ? html`<p class="muted">No jobs yet. Post your first one.</p>` : null}
    <ul class="list">
      ${items.map(
        (job) => html`<li>
          <a href=${href("jobs", job.job_id)}>${job.title}</a>
          <${Status} value=${job.status} />
          <span class="muted">${job.trade_category} · ${money(job.budget_min)}–${money(job.budget_max)} · ${when(job.created_at)}</span>
        </li>`,
      )}
    </ul>
  </div>`;
}
