// Which kinds of notification are emailed: one switch per category the API names
// (`email_categories` of GET /notifications/preferences). An email's unsubscribe link turns its
// category off; this is where the person sees that and turns it back on.
import { api, C, currentSession } from "../api.js";
import { html, useRef, useState } from "./html.js";
import { useAction, usePending } from "./hooks.js";
import { ErrorNote, Notice, sentence } from "./widgets.js";

// What each category brings, in the words of the person reading it: [label, explanation]. The
// events behind each are notifications/rules.py's CATEGORY_OF; a category the API adds later and
// this table does not know still shows, under its own name.
const ABOUT = {
  customer: {
    leads: ["Tradespeople accepting your job", "A tradesperson accepts your job, or it expires before you choose one."],
    messages: ["Messages", "New messages from tradespeople."],
    quotes: ["Quotes", "Quotes received, changed or withdrawn."],
    payments: ["Escrow and payments", "Escrow to pay into, milestones waiting for your approval, refunds to your wallet and a job completed."],
    disputes: ["Disputes", "A dispute raised on your job, and how it was resolved."],
    reviews: ["Reviews", "A tradesperson's response to your review, and a moderator's decision on it."],
    updates: ["Other updates", "Anything else the platform tells you about."],
  },
  vendor: {
    leads: ["Leads", "New leads, and leads that expire or are no longer available."],
    messages: ["Messages", "New messages from customers."],
    quotes: ["Quotes", "Your quote accepted or declined."],
    payments: ["Escrow and payments", "Escrow funded, milestones approved or sent back, payments released, payouts to your bank and a job completed."],
    disputes: ["Disputes", "A dispute raised on your job, and how it was resolved."],
    reviews: ["Reviews", "New reviews of your work, and customers' replies to your responses."],
    updates: ["Other updates", "Anything else the platform tells you about."],
  },
};

/** The email switches of ``prefs`` (the preferences resource of the screen, re-read after
 *  every save, so the switches always show what the API holds). */
export function EmailCategories({ prefs }) {
  const action = useAction();
  const pending = usePending();
  const [saved, setSaved] = useState(null);
  // One save at a time, in the order clicked: the last click is the setting that stays.
  const queue = useRef(Promise.resolve());
  const about = ABOUT[currentSession()?.role] || {};
  const describe = (category) => about[category] || [sentence(category), ""];
  const toggle = (category, on) => {
    setSaved(null);
    pending.hold(category, on);
    queue.current = queue.current.then(() =>
      action.run(async () => {
        try {
          // No idempotency key: the request sets the value, so sending it twice is harmless.
          await api.put(`${C}/notifications/preferences`, { email_categories: { [category]: on } });
          setSaved(`Saved: emails about ${describe(category)[0].toLowerCase()} are now ${on ? "on" : "off"}.`);
        } finally {
          // After a failure too: the switch goes back to what the API holds.
          await prefs.reload();
          pending.release(category, on);
        }
      }),
    );
  };
  const p = prefs.data;
  return html`<div class="email-categories">
    <fieldset aria-describedby="email-categories-about" aria-busy=${action.busy ? "true" : "false"}>
      <legend>Email me about</legend>
      <p class="muted" id="email-categories-about">
        Choose which kinds of notification are emailed to you. The unsubscribe link in an email
        unticks its kind here; tick it again to get those emails back.
      </p>
      ${p.email
        ? null
        : html`<p class="notice">Email is off above, so none of these is sent until you turn it back on.</p>`}
      <ul class="choices">
        ${Object.entries(p.email_categories).map(([category, on]) => {
          const [label, hint] = describe(category);
          const id = `email-category-${category}`;
          return html`<li key=${category}>
            <input type="checkbox" id=${id} checked=${pending.shown(category, on)} aria-describedby=${hint ? `${id}-about` : undefined}
              onChange=${(e) => toggle(category, e.target.checked)} />
            <label for=${id}>${label}</label>
            ${hint ? html`<small class="muted" id=${`${id}-about`}>${hint}</small>` : null}
          </li>`;
        })}
      </ul>
    </fieldset>
    ${saved ? html`<${Notice}>${saved}<//>` : null}
    <${ErrorNote} error=${action.error} />
  </div>`;
}
