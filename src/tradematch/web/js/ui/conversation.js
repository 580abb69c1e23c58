// One conversation: the messages (a live log) and, while messaging is open, a form to send
// text and photos. Whether it is open is the API's word (messaging_enabled), not a guess.
import { api, C, currentSession } from "../api.js";
import { CONVERSATION_CHANGES } from "./events.js";
import { html, useEffect, useRef, useState } from "./html.js";
import { useAction, useResource } from "./hooks.js";
import { PhotoPicker, Photos } from "./photos.js";
import { ErrorNote, Loading, Notice, when } from "./widgets.js";

const safeLink = (url) => /^https:\/\//i.test(url);

export function Conversation({ conversationId, title }) {
  const messages = useResource(
    // The latest 100, shown oldest first.
    () => api.get(`${C}/conversations/${conversationId}/messages`, { limit: 100 }),
    [conversationId],
    ["MESSAGE_SENT"],
    (event) => event.payload && event.payload.conversation_id === conversationId,
  );
  const summaries = useResource(() => api.get(`${C}/conversations`, { limit: 100 }), [conversationId], CONVERSATION_CHANGES);
  const summary = summaries.data && summaries.data.items.find((c) => c.conversation_id === conversationId);
  const enabled = summary ? summary.messaging_enabled : true;
  const send = useAction();
  const form = useRef(null);
  const [photos, setPhotos] = useState([]);
  const [sent, setSent] = useState(0);
  const me = currentSession().userId;
  const items = messages.data ? [...messages.data.items].reverse() : [];
  const last = items.length ? items[items.length - 1].message_id : null;
  useEffect(() => {
    const unread = summary ? summary.unread_count > 0 : true;
    if (last && unread) api.patch(`${C}/conversations/${conversationId}/mark-read`, {}).catch(() => {});
  }, [last, summary && summary.unread_count]);
  const submit = async (e) => {
    e.preventDefault();
    const text = e.target.elements.body.value.trim();
    if (!text && !photos.length) return;
    const body = { body: text || null };
    if (photos.length) body.attachment_upload_ids = photos.map((p) => p.upload_id);
    const done = await send.run(() =>
      api.post(`${C}/conversations/${conversationId}/messages`, body, `message:${conversationId}:${sent}`),
    );
    if (done) {
      form.current.reset();
      setPhotos([]);
      setSent(sent + 1);
      messages.reload();
    }
  };
  const label = `Messages — ${title}`;
  return html`<div class="conversation">
    <h3>${label}</h3>
    <${Loading} resource=${messages} />
    <div class="messages" role="log" aria-label=${label} aria-live="polite" tabindex="0">
    <ol>
      ${items.map(
        (m) => html`<li class=${`message from-${m.sender_role}${m.sender_id === me ? " mine" : ""}`}>
          <span class="who">${m.sender_role === "system" ? "TradeMatch" : m.sender_id === me ? "You" : title}</span>
          ${m.body ? html`<span class="body">${m.body}</span>` : null}
          ${(m.attachments || []).map((url) =>
            safeLink(url)
              ? html`<a class="attachment" href=${url} target="_blank" rel="noopener noreferrer">${url}</a>`
              : html`<span class="attachment">${url}</span>`,
          )}
          <${Photos} photos=${m.attachment_uploads} label="Attached photo" />
          <time datetime=${m.created_at}>${when(m.created_at)}</time>
        </li>`,
      )}
    </ol>
    </div>
    ${enabled
      ? html`<form ref=${form} class="send" onSubmit=${submit}>
          <label for=${`msg-${conversationId}`}>Message to ${title}</label>
          <textarea id=${`msg-${conversationId}`} name="body" rows="2" maxlength="5000"></textarea>
          <${PhotoPicker} label="Attach photos" onChange=${setPhotos} idSuffix=${conversationId} key=${sent} />
          <${ErrorNote} error=${send.error} />
          <button type="submit" disabled=${send.busy}>Send message</button>
        </form>`
      : html`<${Notice}>Messaging is closed for this conversation.<//>`}
  </div>`;
}
