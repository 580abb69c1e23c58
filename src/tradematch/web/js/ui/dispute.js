// Raising a dispute on an awarded job (either party): the escrow freezes until an admin decides.
import { api, C } from "../api.js";
import { html, useState } from "./html.js";
import { formValues, useAction } from "./hooks.js";
import { ErrorNote, Field, Section } from "./widgets.js";

export function Dispute({ jobId, title }) {
  const [open, setOpen] = useState(false);
  const action = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    const { reason } = formValues(ev.target);
    action.run(async () => {
      await api.post(`${C}/jobs/${jobId}/dispute`, { reason }, `dispute:${jobId}`);
      setOpen(false);
    });
  };
  return html`<${Section} title=${title} id="dispute-title">
    ${open
      ? html`<form onSubmit=${submit}>
          <${Field} label="What went wrong" name="reason" type="textarea" required maxlength="500" idSuffix="dispute" />
          <${ErrorNote} error=${action.error} />
          <button type="submit" class="danger" disabled=${action.busy}>Raise dispute</button>
        </form>`
      : html`<button type="button" onClick=${() => setOpen(true)}>Raise a dispute</button>`}
  <//>`;
}
