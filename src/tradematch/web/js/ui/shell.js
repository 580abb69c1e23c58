// The frame of every dashboard: a header with the live status, the navigation, the unread
// notification count and sign-out.
import { api, C, signOut } from "../api.js";
import { html, useEffect, useRef } from "./html.js";
import { useResource } from "./hooks.js";
import { href } from "./router.js";
import { LiveStatus } from "./widgets.js";

export function Shell({ title, links, active, children }) {
  const unread = useResource(() => api.get(`${C}/notifications`, { limit: 1 }), []);
  const count = unread.data ? unread.data.unread_count : 0;
  // After navigating, keyboard and screen-reader users start at the new screen's content.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else document.getElementById("main").focus();
  }, [window.location.hash]);
  return html`<div class="app">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <p class="brand">TradeMatch <span class="muted">${title}</span></p>
      <${LiveStatus} />
      <button type="button" class="link" onClick=${() => signOut()}>Sign out</button>
    </header>
    <nav aria-label="Dashboard">
      <ul>
        ${links.map(
          ([key, text]) => html`<li>
            <a href=${href(key)} aria-current=${key === active ? "page" : undefined}>
              ${text}${key === "notifications" && count
                ? html` <span class="badge" aria-label=${`${count} unread`}>${count}</span>`
                : null}
            </a>
          </li>`,
        )}
      </ul>
    </nav>
    <main id="main" tabindex="-1">${children}</main>
  </div>`;
}
