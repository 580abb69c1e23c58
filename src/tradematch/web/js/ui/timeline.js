// A job's history, from its events, in words.
import { api, C } from "../api.js";
import { html } from "./html.js";
import { useResource } from "./hooks.js";
import { Loading, when, words } from "./widgets.js";

const TEXT = {
  JOB_CREATED: "Job created as a draft",
  JOB_UPDATED: "Draft edited",
  JOB_POSTED: "Job published",
  LEAD_OFFERED: "Offered to a tradesperson",
  LEAD_ACCEPTED: "A tradesperson accepted",
  LEAD_DECLINED: "A tradesperson declined",
  LEAD_EXPIRED: "An offer expired",
  LEAD_CLOSED: "This job is no longer available",
  QUOTE_SENT: "Quote sent",
  QUOTE_UPDATED: "Quote changed",
  QUOTE_ACCEPTED: "Quote accepted",
  QUOTE_REJECTED: "Quote rejected",
  QUOTE_WITHDRAWN: "Quote withdrawn",
  QUOTE_EXPIRED: "Quote expired",
  JOB_IN_PROGRESS: "Work in progress",
  ESCROW_CREATED: "Escrow opened",
  ESCROW_FUNDED: "Escrow funded",
  MILESTONE_SUBMITTED: "Milestone submitted",
  MILESTONE_APPROVED: "Milestone approved",
  MILESTONE_CHANGES_REQUESTED: "Changes requested",
  PAYMENT_RELEASED: "Payment released",
  MESSAGE_SENT: "Message sent",
  MESSAGES_READ: "Messages read",
  JOB_COMPLETED: "Job completed",
  JOB_CLOSED: "Job closed",
  JOB_CANCELLED: "Job cancelled",
  JOB_EXPIRED: "Job expired",
  DISPUTE_RAISED: "Dispute raised",
  DISPUTE_RESOLVED: "Dispute resolved",
  REVIEW_POSTED: "Review posted",
  REVIEW_RESPONDED: "Response to the review",
  REVIEW_REPLIED: "Reply to the response",
  REVIEW_MODERATED: "Review moderated",
};

export const describe = (type) => TEXT[type] || words(type);

export function Timeline({ jobId, path }) {
  const events = useResource(
    () => api.get(path || `${C}/events/${jobId}`, { limit: 200 }),
    [jobId, path],
    "*",
    (event) => event.job_id === jobId && event.type !== "MESSAGES_READ",
  );
  const items = events.data ? events.data.items.filter((e) => e.type !== "MESSAGES_READ") : [];
  return html`<div>
    <${Loading} resource=${events} />
    <ol class="timeline" aria-label="Job history">
      ${items.map(
        (e) => html`<li><time datetime=${e.created_at}>${when(e.created_at)}</time> ${describe(e.type)}</li>`,
      )}
    </ol>
  </div>`;
}
