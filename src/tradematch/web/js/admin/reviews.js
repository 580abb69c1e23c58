// Review moderation: reviews held for contact details or abuse, published or rejected.
import { ADMIN, api } from "../api.js";
import { html } from "../ui/html.js";
import { useAction, useResource } from "../ui/hooks.js";
import { href } from "../ui/router.js";
import { ErrorNote, Loading, when } from "../ui/widgets.js";

export function Moderation() {
  const held = useResource(() => api.get(`${ADMIN}/reviews/held`), [], ["REVIEW_POSTED", "REVIEW_MODERATED"]);
  const action = useAction();
  const decide = (r, decision) =>
    action.run(async () => {
      await api.patch(`${ADMIN}/reviews/${r.review_id}/moderate`, { decision }, `moderate:${r.review_id}`);
      held.reload();
    });
  const items = held.data ? held.data.items : [];
  return html`<div>
    <h1>Review moderation</h1>
    <${Loading} resource=${held} />
    <${ErrorNote} error=${action.error} />
    ${held.data && !items.length ? html`<p class="muted">No reviews waiting.</p>` : null}
    <ul class="list">
      ${items.map(
        (r) => html`<li>
          <p><strong>${r.rating} of 5</strong> on <a href=${href("jobs", r.job_id)}>job ${r.job_id}</a> <span class="muted">${when(r.created_at)} · held: ${r.moderation_reason}</span></p>
          <p class="quoted">${r.feedback}</p>
          <div class="actions">
            <button type="button" class="primary" onClick=${() => decide(r, "approve")} disabled=${action.busy}>Publish review ${r.review_id}</button>
            <button type="button" class="danger" onClick=${() => decide(r, "reject")} disabled=${action.busy}>Reject review ${r.review_id}</button>
          </div>
        </li>`,
      )}
    </ul>
  </div>`;
}
