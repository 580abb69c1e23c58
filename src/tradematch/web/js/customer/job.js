// A job's page for its customer: the job, the tradespeople who accepted (with contact details),
// one conversation per tradesperson, quotes, escrow, milestones, dispute, review and history.
import { api, ApiError, C } from "../api.js";
import { Conversation } from "../ui/conversation.js";
import { Dispute } from "../ui/dispute.js";
import { Evidence } from "../ui/evidence.js";
import { JOB_CHANGES, LEAD_CHANGES, MONEY_CHANGES, QUOTE_CHANGES, REVIEW_CHANGES } from "../ui/events.js";
import { html, useState } from "../ui/html.js";
import { formValues, useAction, useResource } from "../ui/hooks.js";
import { Photos } from "../ui/photos.js";
import { href } from "../ui/router.js";
import { Timeline } from "../ui/timeline.js";
import { ErrorNote, Field, Loading, money, Notice, Section, Status, when, words } from "../ui/widgets.js";

/** A resource of this job, re-read on the job's events of ``types``; a 404 is "not yet". */
function useJobResource(jobId, path, types) {
  return useResource(
    () => (path === null ? Promise.resolve(null) : api.get(path)).catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))),
    [jobId, path],
    types,
    (event) => event.job_id === jobId,
  );
}

// After the award the job has an escrow account and milestones (before it, they are 404).
const AWARDED = ["in_progress", "disputed", "completed", "closed", "cancelled"];

export function JobPage({ jobId }) {
  const job = useJobResource(jobId, `${C}/jobs/${jobId}`, JOB_CHANGES);
  const vendors = useJobResource(jobId, `${C}/jobs/${jobId}/vendors`, LEAD_CHANGES);
  const [talkingTo, setTalkingTo] = useState(null);
  if (!job.data) return html`<${Loading} resource=${job} />${job.data === null && !job.loading ? html`<p>Job not found.</p>` : null}`;
  const j = job.data;
  const engaged = vendors.data ? vendors.data.items : [];
  const names = Object.fromEntries(engaged.map((v) => [v.vendor_id, v.business_name]));
  const selected = engaged.find((v) => v.vendor_id === talkingTo) || engaged.find((v) => v.conversation_id);
  return html`<div class="job">
    <h1>${j.title}</h1>
    <p><${Status} value=${j.status} /> <span class="muted">${j.trade_category} · ${money(j.budget_min)}–${money(j.budget_max)} · ${words(j.timeframe)} · ${j.postcode}</span></p>
    ${j.description ? html`<p class="description">${j.description}</p>` : null}
    <${Photos} photos=${j.photo_uploads} label="Job photo" />
    <${JobActions} job=${j} />
    <div class="columns">
      <div>
        <${Section} title="Tradespeople" id="vendors-title">
          ${engaged.length === 0
            ? html`<p class="muted">${j.status === "live" ? `Offered to ${j.leads_assigned} local tradespeople; nobody has accepted yet.` : "No tradespeople yet."}</p>`
            : null}
          <ul class="list">
            ${engaged.map(
              (v) => html`<li>
                <strong>${v.business_name}</strong> <${Status} value=${v.lead_status} />
                <span class="muted">${v.rating_average ? `★ ${v.rating_average} (${v.rating_count})` : "No reviews yet"} · ${v.distance_miles} miles ${v.badges.map((b) => html`<span class="badge-pill">${words(b)}</span>`)}</span>
                <span class="contact">${v.contact.name} · ${v.contact.phone} · ${v.contact.email}</span>
                ${v.conversation_id
                  ? html`<button type="button" class="small" onClick=${() => setTalkingTo(v.vendor_id)}>Messages with ${v.business_name}</button>`
                  : null}
              </li>`,
            )}
          </ul>
          ${selected && selected.conversation_id
            ? html`<${Conversation} conversationId=${selected.conversation_id} title=${selected.business_name} key=${selected.conversation_id} />`
            : null}
        <//>
        <${Quotes} jobId=${jobId} names=${names} />
      </div>
      <div>
        ${AWARDED.includes(j.status) ? html`<${Escrow} jobId=${jobId} /><${Milestones} jobId=${jobId} />` : null}
        ${["in_progress"].includes(j.status) ? html`<${Dispute} jobId=${jobId} title="Problem with the work?" />` : null}
        ${["completed", "closed"].includes(j.status) ? html`<${Review} jobId=${jobId} reviewed=${j.status === "closed"} />` : null}
        <${Section} title="History" id="history-title"><${Timeline} jobId=${jobId} /><//>
      </div>
    </div>
  </div>`;
}

function JobActions({ job }) {
  const action = useAction();
  const id = job.job_id;
  const publish = () => action.run(() => api.patch(`${C}/jobs/${id}/publish`, {}, `publish:${id}`));
  const cancel = () => action.run(() => api.patch(`${C}/jobs/${id}/cancel`, {}, `cancel:${id}`));
  if (!["draft", "live"].includes(job.status)) return null;
  return html`<div class="actions">
    ${job.status === "draft"
      ? html`<a class="button" href=${href("jobs", id, "edit")}>Edit draft</a>
          <button type="button" class="primary" onClick=${publish} disabled=${action.busy}>Publish job</button>`
      : null}
    <button type="button" class="danger" onClick=${cancel} disabled=${action.busy}>Cancel job</button>
    <${ErrorNote} error=${action.error} />
  </div>`;
}

function Quotes({ jobId, names }) {
  const quotes = useJobResource(jobId, `${C}/jobs/${jobId}/quotes`, QUOTE_CHANGES);
  const action = useAction();
  const decide = (q, verb) =>
    action.run(() => api.patch(`${C}/quotes/${q.quote_id}/${verb}`, {}, `${verb}:${q.quote_id}`));
  const items = quotes.data ? quotes.data.items : [];
  return html`<${Section} title="Quotes" id="quotes-title">
    ${quotes.data && !items.length ? html`<p class="muted">No quotes yet.</p>` : null}
    <${ErrorNote} error=${action.error} />
    <ul class="list">
      ${items.map((q) => {
        const who = names[q.vendor_id] || "A tradesperson";
        return html`<li>
          <strong>${who}: ${money(q.amount)}</strong> <${Status} value=${q.status} />
          ${q.estimated_duration ? html`<span class="muted">Estimated duration: ${q.estimated_duration}</span>` : null}
          ${q.description ? html`<p>${q.description}</p>` : null}
          <ol class="plan" aria-label=${`Milestone plan of ${who}`}>
            ${q.milestones.map((m) => html`<li>${m.title} — ${money(m.amount)}</li>`)}
          </ol>
          ${q.status === "pending"
            ? html`<div class="actions">
                <button type="button" class="primary" onClick=${() => decide(q, "accept")} disabled=${action.busy}>Accept quote from ${who}</button>
                <button type="button" onClick=${() => decide(q, "reject")} disabled=${action.busy}>Reject quote from ${who}</button>
              </div>`
            : null}
        </li>`;
      })}
    </ul>
  <//>`;
}

function Escrow({ jobId }) {
  const escrow = useJobResource(jobId, `${C}/jobs/${jobId}/escrow`, MONEY_CHANGES);
  const wallet = useResource(() => api.get(`${C}/wallet`), [], ["ESCROW_FUNDED", "PAYMENT_RELEASED", "DISPUTE_RESOLVED"]);
  const fund = useAction();
  const topUp = useAction();
  const [shortfall, setShortfall] = useState(null);
  const e = escrow.data;
  if (!e) return null;
  const pay = () =>
    fund.run(async () => {
      try {
        // One key for this payment, kept across the top-up: the retry is the same request.
        await api.post(`${C}/jobs/${jobId}/escrow/fund`, {}, `fund:${jobId}`);
        setShortfall(null);
      } catch (error) {
        if (error.code === "ESCROW_INSUFFICIENT_BALANCE") {
          setShortfall({ required: error.details.required, available: error.details.available });
          return;
        }
        throw error;
      }
    });
  const add = (ev) => {
    ev.preventDefault();
    const amount = Number(formValues(ev.target).amount);
    topUp.run(async () => {
      await api.post(`${C}/wallet/top-up`, { amount }, `top-up:${jobId}:${amount}`);
      wallet.reload();
      await pay();
    });
  };
  const need = shortfall ? Math.round((shortfall.required - shortfall.available) * 100) / 100 : 0;
  return html`<${Section} title="Escrow" id="escrow-title">
    <dl class="facts">
      <dt>Status</dt><dd><${Status} value=${e.status} /></dd>
      <dt>Total</dt><dd>${money(e.total)}</dd>
      <dt>Funded</dt><dd>${money(e.funded)}</dd>
      <dt>Released</dt><dd>${money(e.released)}</dd>
      <dt>Held now</dt><dd>${money(e.balance)}</dd>
    </dl>
    ${wallet.data ? html`<p class="muted">Your wallet: ${money(wallet.data.balance)}</p>` : null}
    ${e.status === "pending"
      ? html`<button type="button" class="primary" onClick=${pay} disabled=${fund.busy || topUp.busy}>Pay ${money(e.total)} into escrow</button>`
      : null}
    <${ErrorNote} error=${fund.error} />
    ${shortfall && e.status === "pending"
      ? html`<form class="topup" onSubmit=${add}>
          <p role="alert">Not enough in your wallet: ${money(shortfall.required)} needed, ${money(shortfall.available)} available.</p>
          <${Field} label="Top-up amount (£)" name="amount" type="number" min="0.01" step="0.01" value=${need} required />
          <${ErrorNote} error=${topUp.error} />
          <button type="submit" disabled=${topUp.busy}>Top up and pay</button>
        </form>`
      : null}
  <//>`;
}

function Milestones({ jobId }) {
  const milestones = useJobResource(jobId, `${C}/jobs/${jobId}/milestones`, MONEY_CHANGES);
  const action = useAction();
  const [asking, setAsking] = useState(null);
  const items = milestones.data ? milestones.data.items : [];
  if (!items.length) return null;
  const approve = (m) => action.run(() => api.patch(`${C}/milestones/${m.milestone_id}/approve`, {}, `approve:${m.milestone_id}`));
  const requestChanges = (ev, m) => {
    ev.preventDefault();
    const { reason } = formValues(ev.target);
    action.run(async () => {
      await api.patch(`${C}/milestones/${m.milestone_id}/request-changes`, { reason }, `changes:${m.milestone_id}:${reason}`);
      setAsking(null);
    });
  };
  return html`<${Section} title="Milestones" id="milestones-title">
    <${ErrorNote} error=${action.error} />
    <ol class="list">
      ${items.map(
        (m) => html`<li>
          <strong>${m.title}</strong> ${money(m.amount)} <${Status} value=${m.status} />
          <${Evidence} evidence=${m.evidence} />
          ${m.changes_reason ? html`<p class="muted">Changes asked: ${m.changes_reason}</p>` : null}
          ${m.status === "submitted"
            ? html`<div class="actions">
                <button type="button" class="primary" onClick=${() => approve(m)} disabled=${action.busy}>Approve “${m.title}” and release ${money(m.amount)}</button>
                <button type="button" onClick=${() => setAsking(m.milestone_id)}>Request changes to “${m.title}”</button>
              </div>`
            : null}
          ${asking === m.milestone_id
            ? html`<form onSubmit=${(ev) => requestChanges(ev, m)}>
                <${Field} label="What needs changing" name="reason" type="textarea" required maxlength="500" idSuffix=${m.milestone_id} />
                <button type="submit" disabled=${action.busy}>Send request</button>
              </form>`
            : null}
        </li>`,
      )}
    </ol>
  <//>`;
}

function Review({ jobId, reviewed }) {
  // A review closes the job: before that there is none to read (only the form).
  const review = useJobResource(jobId, reviewed ? `${C}/jobs/${jobId}/review` : null, REVIEW_CHANGES);
  const action = useAction();
  const post = (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    action.run(() =>
      api.post(
        `${C}/reviews`,
        { job_id: jobId, rating: Number(v.rating), feedback: v.feedback || null, recommend_yes_no: v.recommend === "yes" },
        `review:${jobId}`,
      ),
    );
  };
  const reply = (ev, r) => {
    ev.preventDefault();
    const { reply: text } = formValues(ev.target);
    action.run(() => api.patch(`${C}/reviews/${r.review_id}/reply`, { reply: text }, `reply:${r.review_id}`));
  };
  const r = review.data;
  return html`<${Section} title="Review" id="review-title">
    <${ErrorNote} error=${action.error} />
    ${r
      ? html`<div class="review">
          <p><strong>${"★".repeat(r.rating)}</strong> <span class="muted">(${r.rating} of 5)</span> <${Status} value=${r.status} /></p>
          <p>${r.feedback}</p>
          ${r.status === "held" ? html`<${Notice}>Your review is waiting for a moderator.<//>` : null}
          ${r.vendor_response ? html`<p><strong>Their response:</strong> ${r.vendor_response}</p>` : null}
          ${r.customer_reply ? html`<p><strong>Your reply:</strong> ${r.customer_reply}</p>` : null}
          ${r.vendor_response && !r.customer_reply
            ? html`<form onSubmit=${(ev) => reply(ev, r)}>
                <${Field} label="Your reply" name="reply" type="textarea" required maxlength="2000" idSuffix="reply" />
                <button type="submit" disabled=${action.busy}>Send reply</button>
              </form>`
            : null}
        </div>`
      : review.data === null && !review.loading
        ? html`<form onSubmit=${post}>
            <div class="field">
              <label for="f-rating">Rating</label>
              <select id="f-rating" name="rating">${[5, 4, 3, 2, 1].map((n) => html`<option value=${n}>${n} of 5</option>`)}</select>
            </div>
            <${Field} label="Feedback" name="feedback" type="textarea" maxlength="5000" idSuffix="review" />
            <fieldset>
              <legend>Would you recommend them?</legend>
              <label class="inline"><input type="radio" name="recommend" value="yes" checked /> Yes</label>
              <label class="inline"><input type="radio" name="recommend" value="no" /> No</label>
            </fieldset>
            <button type="submit" class="primary" disabled=${action.busy}>Post review</button>
          </form>`
        : null}
  <//>`;
}
