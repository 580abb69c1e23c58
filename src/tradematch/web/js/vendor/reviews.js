// Reviews about me, and my response to each (once).
import { api, C, currentSession } from "../api.js";
import { html } from "../ui/html.js";
import { formValues, useAction, useResource } from "../ui/hooks.js";
import { ErrorNote, Field, Loading, when } from "../ui/widgets.js";

export function Reviews() {
  const me = currentSession().userId;
  const reviews = useResource(() => api.get(`${C}/vendors/${me}/reviews`, { limit: 100 }), [], ["REVIEW_POSTED", "REVIEW_MODERATED", "REVIEW_REPLIED", "REVIEW_RESPONDED"]);
  const action = useAction();
  const respond = (ev, r) => {
    ev.preventDefault();
    const { response } = formValues(ev.target);
    action.run(async () => {
      await api.patch(`${C}/reviews/${r.review_id}/respond`, { response }, `respond:${r.review_id}`);
      reviews.reload();
    });
  };
  const items = reviews.data ? reviews.data.items : [];
  return html`<div>
    <h1>Reviews</h1>
    <${Loading} resource=${reviews} />
    <${ErrorNote} error=${action.error} />
    ${reviews.data && !items.length ? html`<p class="muted">No reviews yet.</p>` : null}
    <ul class="list">
      ${items.map(
        (r) => html`<li class="review">
          <p><strong>${"★".repeat(r.rating)}</strong> <span class="muted">(${r.rating} of 5) · ${when(r.created_at)} · ${r.recommend_yes_no ? "Recommends you" : "Does not recommend you"}</span></p>
          <p>${r.feedback}</p>
          ${r.vendor_response ? html`<p><strong>Your response:</strong> ${r.vendor_response}</p>` : null}
          ${r.customer_reply ? html`<p><strong>Customer's reply:</strong> ${r.customer_reply}</p>` : null}
          ${r.vendor_response
            ? null
            : html`<form onSubmit=${(ev) => respond(ev, r)}>
                <${Field} label="Your response" name="response" type="textarea" required maxlength="2000" idSuffix=${r.review_id} />
                <button type="submit" disabled=${action.busy}>Post response</button>
              </form>`}
        </li>`,
      )}
    </ul>
  </div>`;
}
