// Notifications that failed every attempt and were parked.
import { ADMIN, api } from "../api.js";
import { html } from "../ui/html.js";
import { useResource } from "../ui/hooks.js";
import { Loading, when } from "../ui/widgets.js";

export function DeadLetters() {
  const dead = useResource(() => api.get(`${ADMIN}/notifications/dead`, { limit: 100 }), []);
  const items = dead.data ? dead.data.items : [];
  return html`<div>
    <h1>Dead letters</h1>
    <p class="muted">Re-drive them with <code>tradematch events replay</code> once the cause is fixed.</p>
    <${Loading} resource=${dead} />
    ${dead.data && !items.length ? html`<p class="muted">No dead letters.</p>` : null}
    ${items.length
      ? html`<table>
          <caption>Parked notifications</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Channel</th><th scope="col">Event</th><th scope="col">Recipient</th><th scope="col">Attempts</th><th scope="col">Last error</th></tr></thead>
          <tbody>
            ${items.map((n) => html`<tr><td>${when(n.created_at)}</td><td>${n.channel}</td><td>${n.event_type}</td><td>${n.user_id}</td><td class="num">${n.attempts}</td><td>${n.last_error}</td></tr>`)}
          </tbody>
        </table>`
      : null}
  </div>`;
}
