// One conversation: the messages (a live log) and, while messaging is open, a form to send.
import { api, C, currentSession } from "../api.js";
import { html, useEffect, useRef } from "./html.js";
import { useAction, useResource } from "./hooks.js";
import { ErrorNote, Loading, Notice, when } from "./widgets.js";

export function Conversation({ conversationId, title, enabled = true }) {
  const messages = useResource(
    // The latest 100, shown oldest first.
    () => api.get(`${C}/conversations/${conversationId}/messages`, { limit: 100 }),
    [conversationId],
    ["MESSAGE_SENT"],
    (event) => event.payload && event.payload.conversation_id === conversationId,
  );
  const send = useAction();
  const form = useRef(null);
  const me = currentSession().userId;
  const items = messages.data ? [...messages.data.items].reverse() : [];
  const last = items.length ? items[items.length - 1].message_id : null;
  useEffect(() => {
    if (last) api.patch(`${C}/conversations/${conversationId}/mark-read`, {}).catch(() => {});
  }, [last]);
  const submit = async (e) => {
    e.preventDefault();
    const body = e.target.elements.body.value.trim();
    if (!body) return;
    const sent = await send.run(() =>
      api.post(`${C}/conversations/${conversationId}/messages`, { body }, `message:${conversationId}:${body}`),
    );
    if (sent) {
      form.current.reset();
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
          <span class="body">${m.body}</span>
          ${(m.attachments || []).map((url) => html`<span class="attachment">${url}</span>`)}
          <time datetime=${m.created_at}>${when(m.created_at)}</time>
        </li>`,
      )}
    </ol>
    </div>
    ${enabled
      ? html`<form ref=${form} class="send" onSubmit=${submit}>
          <label for=${`msg-${conversationId}`}>Message to ${title}</label>
          <textarea id=${`msg-${conversationId}`} name="body" rows="2" maxlength="5000" required></textarea>
          <${ErrorNote} error=${send.error} />
          <button type="submit" disabled=${send.busy}>Send message</button>
        </form>`
      : html`<${Notice}>Messaging is closed for this conversation.<//>`}
  </div>`;
}
