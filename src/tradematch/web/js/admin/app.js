// The operator's dashboard: disputes, review moderation, any job unmasked, dead letters,
// authorization denials.
import { html } from "../ui/html.js";
import { Notifications } from "../ui/notifications.js";
import { useRoute } from "../ui/router.js";
import { Shell } from "../ui/shell.js";
import { DeadLetters } from "./dead-letters.js";
import { Denials } from "./denials.js";
import { Disputes } from "./disputes.js";
import { AdminJob } from "./job.js";
import { AllJobs } from "./jobs.js";
import { Moderation } from "./reviews.js";

const LINKS = [
  ["disputes", "Disputes"],
  ["reviews", "Review moderation"],
  ["jobs", "Jobs"],
  ["dead-letters", "Dead letters"],
  ["denials", "Denials"],
  ["notifications", "Notifications"],
];

export function AdminApp() {
  const [screen = "disputes", id] = useRoute();
  let body;
  if (screen === "jobs" && id) body = html`<${AdminJob} jobId=${id} />`;
  else if (screen === "jobs") body = html`<${AllJobs} />`;
  else if (screen === "reviews") body = html`<${Moderation} />`;
  else if (screen === "dead-letters") body = html`<${DeadLetters} />`;
  else if (screen === "denials") body = html`<${Denials} />`;
  else if (screen === "notifications") body = html`<${Notifications} />`;
  else body = html`<${Disputes} />`;
  return html`<${Shell} title="Admin" links=${LINKS} active=${screen}>${body}<//>`;
}
