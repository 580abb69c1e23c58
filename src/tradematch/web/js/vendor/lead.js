// A lead's page for the tradesperson: the masked preview until accepted; then the customer's
// contact details, the conversation, my quote, and after the award the escrow (read-only),
// milestones with evidence, dispute and the review. A lead that is gone says only that.
import { api, ApiError, C } from "../api.js";
import { Conversation } from "../ui/conversation.js";
import { Dispute } from "../ui/dispute.js";
import { Evidence } from "../ui/evidence.js";
import { JOB_CHANGES, LEAD_CHANGES, MONEY_CHANGES, QUOTE_CHANGES, REVIEW_CHANGES } from "../ui/events.js";
import { html, useState } from "../ui/html.js";
import { formValues, useAction, useResource } from "../ui/hooks.js";
import { PhotoPicker, Photos } from "../ui/photos.js";
import { Timeline } from "../ui/timeline.js";
import { Countdown, ErrorNote, Field, Loading, money, Notice, Section, Status, words } from "../ui/widgets.js";
import { GONE, NO_LONGER_AVAILABLE } from "./leads.js";

const ENGAGED = ["accepted", "quote_sent", "quote_accepted"];
const orNull = (e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e));

export function LeadPage({ leadId }) {
  const lead = useResource(
    () => api.get(`${C}/leads/${leadId}`).catch(orNull),
    [leadId],
    [...JOB_CHANGES, ...LEAD_CHANGES],
    (e) => !e.payload || !e.payload.lead_id || e.payload.lead_id === leadId,
  );
  const l = lead.data;
  if (!l) return html`<${Loading} resource=${lead} />${l === null && !lead.loading ? html`<p>Lead not found.</p>` : null}`;
  if (GONE.includes(l.status)) return html`<div><h1>${NO_LONGER_AVAILABLE}</h1><p><a href="#/leads">Back to leads</a></p></div>`;
  const engaged = ENGAGED.includes(l.status);
  const won = l.status === "quote_accepted";
  return html`<div class="job">
    <h1>${l.title}</h1>
    <p><${Status} value=${l.status} /> <span class="muted">${l.trade_category} · ${l.outcode} · about ${l.approx_distance_miles} miles · ${money(l.budget_min)}–${money(l.budget_max)} · ${words(l.timeframe)}</span>
      ${l.status === "offered" ? html` · <${Countdown} until=${l.expires_at} />` : null}</p>
    ${l.description ? html`<p class="description">${l.description}</p>` : null}
    <${Photos} photos=${l.photo_uploads} label="Job photo" />
    ${l.status === "offered" ? html`<${Decide} lead=${l} />` : null}
    ${engaged
      ? html`<div class="columns">
          <div>
            <${Section} title="Customer" id="customer-title">
              <dl class="facts">
                <dt>Name</dt><dd>${l.customer.name}</dd>
                <dt>Phone</dt><dd>${l.customer.phone}</dd>
                <dt>Email</dt><dd>${l.customer.email}</dd>
                <dt>Address</dt><dd>${l.postcode}</dd>
              </dl>
              ${l.conversation_id
                ? html`<${Conversation} conversationId=${l.conversation_id} title=${l.customer.name} key=${l.conversation_id} />`
                : null}
            <//>
            <${MyQuote} lead=${l} />
          </div>
          <div>
            ${won ? html`<${Contract} jobId=${l.job_id} />` : null}
            <${Section} title="History" id="history-title"><${Timeline} jobId=${l.job_id} /><//>
          </div>
        </div>`
      : null}
  </div>`;
}

function Decide({ lead }) {
  const action = useAction();
  const [declining, setDeclining] = useState(false);
  const accept = () => action.run(() => api.post(`${C}/leads/${lead.lead_id}/accept`, {}, `accept:${lead.lead_id}`));
  const decline = (ev) => {
    ev.preventDefault();
    const { reason } = formValues(ev.target);
    action.run(() => api.post(`${C}/leads/${lead.lead_id}/decline`, reason ? { reason } : {}, `decline:${lead.lead_id}`));
  };
  return html`<div class="actions">
    <button type="button" class="primary" onClick=${accept} disabled=${action.busy}>Accept lead</button>
    <button type="button" onClick=${() => setDeclining(true)}>Decline lead</button>
    ${declining
      ? html`<form onSubmit=${decline}>
          <${Field} label="Reason (optional)" name="reason" maxlength="500" idSuffix="decline" />
          <button type="submit" disabled=${action.busy}>Confirm decline</button>
        </form>`
      : null}
    <${ErrorNote} error=${action.error} />
  </div>`;
}

function useJobResource(jobId, path, types, query) {
  return useResource(() => api.get(path, query).catch(orNull), [jobId, path], types, (e) => e.job_id === jobId);
}

function MyQuote({ lead }) {
  const quotes = useJobResource(lead.job_id, `${C}/quotes`, QUOTE_CHANGES, { job_id: lead.job_id });
  const [editing, setEditing] = useState(false);
  const action = useAction();
  const items = quotes.data ? quotes.data.items : [];
  const current = items.find((q) => q.status === "pending" || q.status === "accepted");
  const withdraw = () => action.run(() => api.patch(`${C}/quotes/${current.quote_id}/withdraw`, {}, `withdraw:${current.quote_id}`));
  const showForm = lead.status === "accepted" || editing;
  return html`<${Section} title="My quote" id="quote-title">
    ${current
      ? html`<div>
          <p><strong>${money(current.amount)}</strong> <${Status} value=${current.status} />
            ${current.estimated_duration ? html` <span class="muted">${current.estimated_duration}</span>` : null}</p>
          ${current.description ? html`<p>${current.description}</p>` : null}
          <ol class="plan" aria-label="My milestone plan">${current.milestones.map((m) => html`<li>${m.title} — ${money(m.amount)}</li>`)}</ol>
          ${current.status === "pending" && !editing
            ? html`<div class="actions">
                <button type="button" onClick=${() => setEditing(true)}>Edit quote</button>
                <button type="button" onClick=${withdraw} disabled=${action.busy}>Withdraw quote</button>
              </div>`
            : null}
        </div>`
      : null}
    <${ErrorNote} error=${action.error} />
    ${showForm && lead.status !== "quote_accepted"
      ? html`<${QuoteForm} lead=${lead} quote=${editing ? current : null} done=${() => { setEditing(false); quotes.reload(); }} />`
      : null}
  <//>`;
}

function QuoteForm({ lead, quote, done }) {
  const [rows, setRows] = useState(quote ? quote.milestones.length : 0);
  const action = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    const milestones = [];
    for (let i = 0; i < rows; i += 1) {
      if (v[`ms_title_${i}`]) milestones.push({ title: v[`ms_title_${i}`], amount: Number(v[`ms_amount_${i}`]) });
    }
    const body = {
      amount: Number(v.amount),
      description: v.description || null,
      estimated_duration: v.estimated_duration || null,
    };
    if (milestones.length) body.milestones = milestones;
    action.run(async () => {
      if (quote) await api.patch(`${C}/quotes/${quote.quote_id}`, body, `edit-quote:${quote.quote_id}:${JSON.stringify(body)}`);
      else await api.post(`${C}/quotes`, { job_id: lead.job_id, ...body }, `quote:${lead.lead_id}`);
      done();
    });
  };
  const q = quote || {};
  return html`<form onSubmit=${submit}>
    <${Field} label="Quote amount (£)" name="amount" type="number" min="0.01" step="0.01" value=${q.amount} required />
    <${Field} label="What the quote covers" name="description" type="textarea" maxlength="5000" value=${q.description} />
    <${Field} label="Estimated duration" name="estimated_duration" maxlength="120" value=${q.estimated_duration} />
    <fieldset>
      <legend>Milestone plan (optional; amounts must add up to the quote)</legend>
      ${Array.from({ length: rows }, (_, i) => html`<div class="row">
        <${Field} label=${`Milestone ${i + 1} title`} name=${`ms_title_${i}`} value=${q.milestones && q.milestones[i] ? q.milestones[i].title : ""} />
        <${Field} label=${`Milestone ${i + 1} amount (£)`} name=${`ms_amount_${i}`} type="number" min="0.01" step="0.01" value=${q.milestones && q.milestones[i] ? q.milestones[i].amount : ""} />
      </div>`)}
      <button type="button" class="small" onClick=${() => setRows(rows + 1)}>Add milestone</button>
    </fieldset>
    <${ErrorNote} error=${action.error} />
    <button type="submit" class="primary" disabled=${action.busy}>${quote ? "Save quote" : "Send quote"}</button>
  </form>`;
}

function Contract({ jobId }) {
  const escrow = useJobResource(jobId, `${C}/jobs/${jobId}/escrow`, MONEY_CHANGES);
  const e = escrow.data;
  if (!e) return html`<${Loading} resource=${escrow} />`;
  return html`<${Escrow} escrow=${e} />
    <${Milestones} jobId=${jobId} escrow=${e} />
    ${["held", "partial_released"].includes(e.status) ? html`<${Dispute} jobId=${jobId} title="Problem with this job?" />` : null}
    ${e.status === "released" ? html`<${Review} jobId=${jobId} />` : null}`;
}

function Escrow({ escrow: e }) {
  return html`<${Section} title="Escrow" id="escrow-title">
    <dl class="facts">
      <dt>Status</dt><dd><${Status} value=${e.status} /></dd>
      <dt>Total</dt><dd>${money(e.total)}</dd>
      <dt>Funded</dt><dd>${money(e.funded)}</dd>
      <dt>Released to you</dt><dd>${money(e.released)}</dd>
      <dt>Held now</dt><dd>${money(e.balance)}</dd>
    </dl>
    ${e.status === "pending" ? html`<p class="muted">Waiting for the customer to pay into escrow.</p>` : null}
  <//>`;
}

function Milestones({ jobId, escrow }) {
  const milestones = useJobResource(jobId, `${C}/jobs/${jobId}/milestones`, MONEY_CHANGES);
  const action = useAction();
  const [photos, setPhotos] = useState([]);
  const items = milestones.data ? milestones.data.items : [];
  const funded = ["held", "partial_released"].includes(escrow.status);
  const submit = (ev, m) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    const links = (v.links || "").split(/\s+/).filter(Boolean);
    const evidence = { description: v.description, photos: links };
    if (photos.length) evidence.photo_upload_ids = photos.map((p) => p.upload_id);
    action.run(() => api.post(`${C}/milestones/${m.milestone_id}/submit`, { completion_evidence: evidence }, `submit:${m.milestone_id}:${m.status}`));
  };
  if (!items.length) return html`<${Loading} resource=${milestones} />`;
  return html`<${Section} title="Milestones" id="milestones-title">
    <${ErrorNote} error=${action.error} />
    <ol class="list">
      ${items.map(
        (m) => html`<li>
          <strong>${m.title}</strong> ${money(m.amount)} <${Status} value=${m.status} />
          <${Evidence} evidence=${m.evidence} />
          ${m.changes_reason ? html`<p class="muted">Changes asked: ${m.changes_reason}</p>` : null}
          ${funded && ["pending", "changes_requested"].includes(m.status)
            ? html`<form onSubmit=${(ev) => submit(ev, m)}>
                <${Field} label=${`What was done for “${m.title}”`} name="description" type="textarea" required maxlength="5000" idSuffix=${m.milestone_id} />
                <${Field} label="Photo links (https, optional)" name="links" idSuffix=${m.milestone_id} />
                <${PhotoPicker} label="Evidence photos" onChange=${setPhotos} idSuffix=${m.milestone_id} />
                <button type="submit" class="primary" disabled=${action.busy}>Submit “${m.title}” for approval</button>
              </form>`
            : null}
        </li>`,
      )}
    </ol>
  <//>`;
}

function Review({ jobId }) {
  const review = useJobResource(jobId, `${C}/jobs/${jobId}/review`, REVIEW_CHANGES);
  const action = useAction();
  const r = review.data;
  if (!r) return null;
  const respond = (ev) => {
    ev.preventDefault();
    const { response } = formValues(ev.target);
    action.run(() => api.patch(`${C}/reviews/${r.review_id}/respond`, { response }, `respond:${r.review_id}`));
  };
  return html`<${Section} title="Customer's review" id="review-title">
    <p><strong>${"★".repeat(r.rating)}</strong> <span class="muted">(${r.rating} of 5)</span></p>
    <p>${r.feedback}</p>
    ${r.vendor_response ? html`<p><strong>Your response:</strong> ${r.vendor_response}</p>` : null}
    ${r.customer_reply ? html`<p><strong>Customer's reply:</strong> ${r.customer_reply}</p>` : null}
    ${r.vendor_response
      ? null
      : html`<form onSubmit=${respond}>
          <${Field} label="Your response" name="response" type="textarea" required maxlength="2000" idSuffix="respond" />
          <${ErrorNote} error=${action.error} />
          <button type="submit" disabled=${action.busy}>Post response</button>
        </form>`}
    ${r.status === "held" ? html`<${Notice}>Waiting for moderation.<//>` : null}
  <//>`;
}
