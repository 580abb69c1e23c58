// My wallet: the balance and the ledger history (read-only).
import { api, C } from "../api.js";
import { html } from "../ui/html.js";
import { useResource } from "../ui/hooks.js";
import { Loading, money, when, words } from "../ui/widgets.js";

export function Wallet() {
  const wallet = useResource(() => api.get(`${C}/wallet`), [], ["PAYMENT_RELEASED", "DISPUTE_RESOLVED", "MILESTONE_APPROVED"]);
  const w = wallet.data;
  return html`<div>
    <h1>Wallet</h1>
    <${Loading} resource=${wallet} />
    ${w
      ? html`<p class="balance">Balance: <strong>${money(w.balance)}</strong></p>
          <table>
            <caption>Ledger history</caption>
            <thead><tr><th scope="col">Date</th><th scope="col">What</th><th scope="col">Amount</th></tr></thead>
            <tbody>
              ${w.entries.map(
                (e) => html`<tr><td>${when(e.created_at)}</td><td>${words(e.kind)}</td><td class="num">${money(e.amount)}</td></tr>`,
              )}
            </tbody>
          </table>
          ${w.entries.length ? null : html`<p class="muted">No payments yet.</p>`}`
      : null}
  </div>`;
}
