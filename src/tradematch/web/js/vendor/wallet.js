// My wallet: the balance, the ledger history, and payouts to my bank.
import { api, C } from "../api.js";
import { html } from "../ui/html.js";
import { useAction, useResource } from "../ui/hooks.js";
import { ErrorNote, Field, Loading, Status, money, when, words } from "../ui/widgets.js";

const WALLET_CHANGES = ["PAYMENT_RELEASED", "DISPUTE_RESOLVED", "MILESTONE_APPROVED", "PAYOUT_SENT"];

export function Wallet() {
  const wallet = useResource(() => api.get(`${C}/wallet`), [], WALLET_CHANGES);
  const w = wallet.data;
  return html`<div>
    <h1>Wallet</h1>
    <${Loading} resource=${wallet} />
    ${w
      ? html`<p class="balance">Balance: <strong>${money(w.balance)}</strong></p>
          <${Payouts} balance=${w.balance} onPaid=${wallet.reload} />
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

function Payouts({ balance, onPaid }) {
  const payouts = useResource(() => api.get(`${C}/wallet/payouts`), [], ["PAYOUT_SENT"]);
  const send = useAction();
  const items = payouts.data ? payouts.data.items : [];
  const submit = (ev) => {
    ev.preventDefault();
    const amount = Number(new FormData(ev.currentTarget).get("amount"));
    // One key per payout attempt: a retry of the same amount after an error is the same request.
    send.run(async () => {
      await api.post(`${C}/wallet/payouts`, { amount }, `payout:${amount}`);
      payouts.reload();
      onPaid();
    });
  };
  return html`<section aria-labelledby="payouts-title">
    <h2 id="payouts-title">Payouts</h2>
    ${balance > 0
      ? html`<form class="payout" onSubmit=${submit}>
          <${Field} label="Amount to pay out (£)" name="amount" type="number" min="0.01" step="0.01" max=${balance} value=${balance} required />
          <${ErrorNote} error=${send.error} />
          <button type="submit" disabled=${send.busy}>Pay out to my bank</button>
        </form>`
      : null}
    ${items.length
      ? html`<table>
          <caption>Payouts to my bank</caption>
          <thead><tr><th scope="col">Date</th><th scope="col">Status</th><th scope="col">Amount</th></tr></thead>
          <tbody>
            ${items.map(
              (p) => html`<tr><td>${when(p.created_at)}</td><td><${Status} value=${p.status} /></td><td class="num">${money(p.amount)}</td></tr>`,
            )}
          </tbody>
        </table>`
      : html`<p class="muted">No payouts yet.</p>`}
  </section>`;
}
