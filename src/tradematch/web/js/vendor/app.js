// The tradesperson's dashboard: lead inbox, a lead's page, my jobs, wallet, reviews, profile.
import { html } from "../ui/html.js";
import { Notifications } from "../ui/notifications.js";
import { useRoute } from "../ui/router.js";
import { Shell } from "../ui/shell.js";
import { LeadPage } from "./lead.js";
import { LeadInbox } from "./leads.js";
import { MyJobs } from "./jobs.js";
import { Profile } from "./profile.js";
import { Reviews } from "./reviews.js";
import { Wallet } from "./wallet.js";

const LINKS = [
  ["leads", "Leads"],
  ["jobs", "My jobs"],
  ["wallet", "Wallet"],
  ["reviews", "Reviews"],
  ["profile", "Profile"],
  ["notifications", "Notifications"],
];

export function VendorApp() {
  const [screen = "leads", id] = useRoute();
  let body;
  if (screen === "leads" && id) body = html`<${LeadPage} leadId=${id} />`;
  else if (screen === "jobs") body = html`<${MyJobs} />`;
  else if (screen === "wallet") body = html`<${Wallet} />`;
  else if (screen === "reviews") body = html`<${Reviews} />`;
  else if (screen === "profile") body = html`<${Profile} />`;
  else if (screen === "notifications") body = html`<${Notifications} />`;
  else body = html`<${LeadInbox} />`;
  return html`<${Shell} title="Tradesperson" links=${LINKS} active=${screen}>${body}<//>`;
}
