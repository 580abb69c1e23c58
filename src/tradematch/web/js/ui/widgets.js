// Small shared pieces. Every value is interpolated by htm, which renders it as text.
import { onStatus } from "../live.js";
import { html, useEffect, useState } from "./html.js";

const GBP = new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP" });
const WHEN = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });

export const money = (pounds) => (pounds === null || pounds === undefined ? "—" : GBP.format(pounds));
export const when = (iso) => (iso ? WHEN.format(new Date(iso)) : "—");
export const words = (value) => String(value || "").replace(/_/g, " ");

export const TIMEFRAMES = [
  ["urgent", "Urgent"],
  ["within_a_week", "Within a week"],
  ["within_a_month", "Within a month"],
  ["flexible", "Flexible"],
];

export const sentence = (value) => {
  const text = words(value);
  return text.charAt(0).toUpperCase() + text.slice(1);
};

export function Status({ value }) {
  return html`<span class=${`status status-${value}`}>${sentence(value)}</span>`;
}

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message}</p>`;
}

export function Notice({ children }) {
  return html`<p class="notice" role="status">${children}</p>`;
}

export function Loading({ resource }) {
  if (resource.error && !resource.data) return html`<${ErrorNote} error=${resource.error} />`;
  if (resource.loading && !resource.data) return html`<p class="muted">Loading…</p>`;
  return null;
}

// Fields are uncontrolled (the browser keeps what the user typed across re-renders, which live
// updates cause at any time): the value given is only the initial one.
export function Field({ label, name, type = "text", value, required, hint, idSuffix = "", ...rest }) {
  const id = `f-${name}-${idSuffix}`;
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${type === "textarea"
      ? html`<textarea id=${id} name=${name} required=${required} defaultValue=${value ?? ""} ...${rest}></textarea>`
      : html`<input id=${id} name=${name} type=${type} defaultValue=${value ?? ""} required=${required} ...${rest} />`}
    ${hint ? html`<small class="muted">${hint}</small>` : null}
  </div>`;
}

export function Select({ label, name, options, value, required, idSuffix = "" }) {
  const id = `f-${name}-${idSuffix}`;
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <select id=${id} name=${name} required=${required}>
      ${options.map(([v, text]) => html`<option value=${v} defaultSelected=${v === value}>${text}</option>`)}
    </select>
  </div>`;
}

export function Countdown({ until }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30000);
    return () => clearInterval(t);
  }, []);
  const left = new Date(until).getTime() - now;
  if (left <= 0) return html`<span class="muted">expired</span>`;
  const hours = Math.floor(left / 3600000);
  const minutes = Math.floor((left % 3600000) / 60000);
  return html`<span>expires in ${hours} h ${minutes} min</span>`;
}

export function LiveStatus() {
  const [status, setStatus] = useState("offline");
  useEffect(() => onStatus(setStatus), []);
  const text = status === "online" ? "Live" : status === "connecting" ? "Connecting…" : "Offline — reconnecting";
  return html`<span class=${`live live-${status}`} role="status" aria-live="polite">${text}</span>`;
}

export function Section({ title, children, id }) {
  return html`<section class="card" aria-labelledby=${id}>
    <h2 id=${id}>${title}</h2>
    ${children}
  </section>`;
}
