// What a vendor submitted for a milestone: the description, photo links and uploaded photos.
import { html } from "./html.js";
import { Photos } from "./photos.js";

const safeLink = (url) => typeof url === "string" && /^https:\/\//i.test(url);

export function Evidence({ evidence }) {
  if (!evidence) return null;
  const links = (evidence.photos || []).filter((p) => typeof p === "string");
  const uploads = evidence.photo_uploads || [];
  return html`<div class="evidence">
    <p>${evidence.description}</p>
    <${Photos} photos=${uploads} label="Evidence photo" />
    ${links.length
      ? html`<ul class="links">
          ${links.map((url) =>
            safeLink(url)
              ? html`<li><a href=${url} target="_blank" rel="noopener noreferrer">${url}</a></li>`
              : html`<li>${url}</li>`,
          )}
        </ul>`
      : null}
  </div>`;
}
