// The disputes queue and their resolution: release to the vendor, refund, split, or resume.
import { ADMIN, api } from "../api.js";
import { html, useState } from "../ui/html.js";
import { formValues, useAction, useResource } from "../ui/hooks.js";
import { href } from "../ui/router.js";
import { ErrorNote, Field, Loading, Select, Status, when, words } from "../ui/widgets.js";

const RESOLUTIONS = [
  ["release_to_vendor", "Release to the tradesperson"],
  ["refund_customer", "Refund the customer"],
  ["split", "Split"],
  ["resume", "Resume the job"],
];

export function Disputes() {
  const [show, setShow] = useState("open");
  const disputes = useResource(() => api.get(`${ADMIN}/disputes`, { status: show }), [show], ["DISPUTE_RAISED", "DISPUTE_RESOLVED"]);
  const items = disputes.data ? disputes.data.items : [];
  return html`<div>
    <h1>Disputes</h1>
    <div class="tabs" role="group" aria-label="Which disputes">
      <button type="button" aria-pressed=${show === "open"} onClick=${() => setShow("open")}>Open</button>
      <button type="button" aria-pressed=${show === "resolved"} onClick=${() => setShow("resolved")}>Resolved</button>
    </div>
    <${Loading} resource=${disputes} />
    ${disputes.data && !items.length ? html`<p class="muted">No ${show} disputes.</p>` : null}
    <ul class="list">${items.map((d) => html`<${DisputeItem} dispute=${d} key=${d.dispute_id} />`)}</ul>
  </div>`;
}

function DisputeItem({ dispute: d }) {
  const action = useAction();
  const [resolution, setResolution] = useState("release_to_vendor");
  const submit = (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    const body = { resolution: v.resolution, note: v.note || null };
    if (v.resolution === "split") body.vendor_share = Number(v.vendor_share);
    action.run(() => api.patch(`${ADMIN}/disputes/${d.dispute_id}/resolve`, body, `resolve:${d.dispute_id}`));
  };
  return html`<li>
    <p><strong>Dispute on <a href=${href("jobs", d.job_id)}>job ${d.job_id}</a></strong> <${Status} value=${d.status} />
      <span class="muted">raised by ${d.raised_by} · ${when(d.created_at)}</span></p>
    <p>${d.reason}</p>
    ${d.resolution ? html`<p>Resolution: ${words(d.resolution)} ${d.vendor_share !== null ? `(vendor share £${d.vendor_share})` : ""} ${d.resolution_note || ""}</p>` : null}
    ${d.status === "open"
      ? html`<form onSubmit=${submit} onChange=${(e) => e.target.name === "resolution" && setResolution(e.target.value)}>
          <${Select} label="Resolution" name="resolution" value=${resolution} options=${RESOLUTIONS} idSuffix=${d.dispute_id} />
          ${resolution === "split" ? html`<${Field} label="Tradesperson's share (£)" name="vendor_share" type="number" min="0" step="0.01" required idSuffix=${d.dispute_id} />` : null}
          <${Field} label="Note" name="note" maxlength="500" idSuffix=${d.dispute_id} />
          <${ErrorNote} error=${action.error} />
          <button type="submit" class="primary" disabled=${action.busy}>Resolve dispute</button>
        </form>`
      : null}
  </li>`;
}
