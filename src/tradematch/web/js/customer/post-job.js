// Post a job, or edit a draft.
import { api, C } from "../api.js";
import { html, useState } from "../ui/html.js";
import { formValues, useAction, useResource } from "../ui/hooks.js";
import { navigate } from "../ui/router.js";
import { PhotoPicker } from "../ui/photos.js";
import { ErrorNote, Field, Loading, Select, TIMEFRAMES } from "../ui/widgets.js";

export function PostJob({ jobId }) {
  const trades = useResource(() => api.get(`${C}/trades`), []);
  const job = useResource(() => (jobId ? api.get(`${C}/jobs/${jobId}`) : Promise.resolve(null)), [jobId]);
  const [photos, setPhotos] = useState(null);
  const action = useAction();
  if (!trades.data || (jobId && !job.data)) return html`<${Loading} resource=${jobId && job.error ? job : trades} />`;
  const draft = job.data || {};
  const submit = (e) => {
    e.preventDefault();
    const publish = e.submitter && e.submitter.value === "publish";
    const v = formValues(e.target);
    const body = {
      title: v.title,
      trade_category: v.trade_category,
      budget_min: Number(v.budget_min),
      budget_max: Number(v.budget_max),
      timeframe: v.timeframe,
      description: v.description || null,
    };
    if (v.postcode) body.postcode = v.postcode;
    if (photos !== null) body.photo_upload_ids = photos.map((p) => p.upload_id);
    action.run(async () => {
      let id = jobId;
      if (jobId) await api.patch(`${C}/jobs/${jobId}`, body, `edit:${jobId}`);
      else id = (await api.post(`${C}/jobs`, body, "create-job")).job_id;
      // The job exists now: whatever publishing answers, carry on from the job's own page
      // (a failed publish shows there, with the Publish button to try again).
      if (publish) await api.patch(`${C}/jobs/${id}/publish`, {}, `publish:${id}`).catch(() => {});
      navigate("jobs", id);
    });
  };
  return html`<form class="card" onSubmit=${submit}>
    <h1>${jobId ? "Edit draft" : "Post a job"}</h1>
    <${Field} label="Title" name="title" value=${draft.title} required maxlength="120" />
    <${Select} label="Trade" name="trade_category" value=${draft.trade_category}
      options=${trades.data.items.map((t) => [t, t])} />
    <div class="row">
      <${Field} label="Budget from (£)" name="budget_min" type="number" min="1" step="0.01" value=${draft.budget_min} required />
      <${Field} label="Budget up to (£)" name="budget_max" type="number" min="1" step="0.01" value=${draft.budget_max} required />
    </div>
    <${Select} label="Timeframe" name="timeframe" value=${draft.timeframe || "within_a_week"} options=${TIMEFRAMES} />
    <${Field} label="Postcode" name="postcode" value=${draft.postcode} hint="Leave empty to use your own postcode." />
    <${Field} label="Description" name="description" type="textarea" rows="4" maxlength="5000" value=${draft.description} />
    <${PhotoPicker} label="Photos of the job" initial=${draft.photo_uploads || []} onChange=${setPhotos} />
    <${ErrorNote} error=${action.error} />
    <div class="actions">
      <button type="submit" name="intent" value="draft" disabled=${action.busy}>Save draft</button>
      <button type="submit" name="intent" value="publish" class="primary" disabled=${action.busy}>
        ${jobId ? "Save and publish" : "Post job"}
      </button>
    </div>
  </form>`;
}
