// Notifications (in-app inbox with unread count) and notification preferences: the channels,
// browser push through the service worker, and which kinds of notification are emailed.
import { api, C } from "../api.js";
import { html, useState } from "./html.js";
import { EmailCategories } from "./email-categories.js";
import { useAction, usePending, useResource } from "./hooks.js";
import { ErrorNote, Loading, Notice, when } from "./widgets.js";

export function Notifications() {
  const page = useResource(() => api.get(`${C}/notifications`, { limit: 50 }), []);
  const action = useAction();
  const read = (id) =>
    action.run(async () => {
      await api.patch(`${C}/notifications/${id}/read`, {}, `read:${id}`);
      page.reload();
    });
  const items = page.data ? page.data.items : [];
  return html`<div>
    <h1>Notifications</h1>
    <p>${page.data ? `${page.data.unread_count} unread` : ""}</p>
    <${Loading} resource=${page} />
    <${ErrorNote} error=${action.error} />
    ${items.length === 0 && page.data ? html`<p class="muted">Nothing yet.</p>` : null}
    <ul class="list">
      ${items.map(
        (n) => html`<li class=${n.read ? "read" : "unread"}>
          <strong>${n.title}</strong> <span>${n.body}</span>
          <time datetime=${n.created_at}>${when(n.created_at)}</time>
          ${n.read
            ? null
            : html`<button type="button" class="small" onClick=${() => read(n.notification_id)}
                aria-label=${`Mark “${n.title}” as read`}>Mark read</button>`}
        </li>`,
      )}
    </ul>
    <${Preferences} />
  </div>`;
}

function decodeKey(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function subscribeToPush(publicKey) {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    throw new Error("This browser does not support push notifications");
  }
  if ((await Notification.requestPermission()) !== "granted") {
    throw new Error("Notifications are blocked for this site in the browser's settings");
  }
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: decodeKey(publicKey),
  });
  const json = subscription.toJSON();
  await api.post(`${C}/notifications/push-subscriptions`, {
    endpoint: json.endpoint,
    keys: { p256dh: json.keys.p256dh, auth: json.keys.auth },
  }, `push:${json.endpoint}`);
}

function Preferences() {
  const prefs = useResource(() => api.get(`${C}/notifications/preferences`), []);
  const action = useAction();
  const pending = usePending();
  const [saved, setSaved] = useState(false);
  const toggle = (channel, value) =>
    action.run(async () => {
      setSaved(false);
      pending.hold(channel, value);
      try {
        await api.put(`${C}/notifications/preferences`, { [channel]: value });
        setSaved(true);
      } finally {
        // After a failure too: the switch goes back to what the API holds.
        await prefs.reload();
        pending.release(channel, value);
      }
    });
  const enablePush = () =>
    action.run(async () => {
      await subscribeToPush(prefs.data.push_public_key);
      await api.put(`${C}/notifications/preferences`, { push: true });
      setSaved(true);
      prefs.reload();
    });
  const p = prefs.data;
  return html`<section class="card" aria-labelledby="prefs-title">
    <h2 id="prefs-title">Notification preferences</h2>
    <${Loading} resource=${prefs} />
    ${p
      ? html`<fieldset>
            <legend>Tell me about changes by</legend>
            ${[
              ["in_app", "In the dashboard"],
              ["email", "Email"],
              ["push", "Browser push"],
            ].map(
              ([channel, text]) => html`<label class="inline">
                <input type="checkbox" checked=${pending.shown(channel, p[channel])} onChange=${(e) => toggle(channel, e.target.checked)} />
                ${text}
              </label>`,
            )}
          </fieldset>
          <p class="muted">${p.push_subscriptions} browser(s) registered for push.</p>
          <button type="button" onClick=${enablePush} disabled=${action.busy}>Enable push notifications in this browser</button>`
      : null}
    ${saved ? html`<${Notice}>Preferences saved.<//>` : null}
    <${ErrorNote} error=${action.error} />
    ${p ? html`<${EmailCategories} prefs=${prefs} />` : null}
  </section>`;
}
