// Photos: upload (POST /uploads, multipart) and show thumbnails from the signed URLs the API
// returns. Images are shown with <img src> only; names are text.
import { api, C } from "../api.js";
import { html, useState } from "./html.js";
import { useAction } from "./hooks.js";
import { ErrorNote } from "./widgets.js";

const isImage = (upload) => String(upload.content_type || "").startsWith("image/");

export function Photos({ photos, label = "Photos" }) {
  if (!photos || !photos.length) return null;
  return html`<ul class="photos" aria-label=${label}>
    ${photos.map(
      (p, i) => html`<li>
        <a href=${p.url} target="_blank" rel="noopener noreferrer">
          ${isImage(p)
            ? html`<img src=${p.thumbnail_url || p.url} alt=${`${label} ${i + 1}`} width="96" height="96" />`
            : html`<span class="file">${p.filename}</span>`}
        </a>
      </li>`,
    )}
  </ul>`;
}

export function PhotoPicker({ label, initial = [], onChange, idSuffix = "" }) {
  const [photos, setPhotos] = useState(initial);
  const action = useAction();
  const update = (next) => {
    setPhotos(next);
    onChange(next);
  };
  const picked = (e) => {
    const files = [...e.target.files];
    e.target.value = "";
    action.run(async () => {
      const added = [];
      for (const file of files) {
        const form = new FormData();
        form.append("file", file);
        added.push(await api.upload(`${C}/uploads`, form, `upload:${file.name}:${file.size}:${file.lastModified}`));
      }
      update([...photos, ...added].slice(0, 10));
    });
  };
  const id = `photos-${idSuffix}`;
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <input id=${id} type="file" accept="image/jpeg,image/png,image/webp,application/pdf" multiple onChange=${picked} disabled=${action.busy} />
    ${action.busy ? html`<p class="muted" role="status">Uploading…</p>` : null}
    <${ErrorNote} error=${action.error} />
    <ul class="photos" aria-label=${`${label} attached`}>
      ${photos.map(
        (p, i) => html`<li>
          ${isImage(p)
            ? html`<img src=${p.thumbnail_url || p.url} alt=${`Photo ${i + 1}`} width="96" height="96" />`
            : html`<span class="file">${p.filename}</span>`}
          <button type="button" class="small" aria-label=${`Remove photo ${i + 1}`}
            onClick=${() => update(photos.filter((x) => x !== p))}>Remove</button>
        </li>`,
      )}
    </ul>
  </div>`;
}
