// The customer's dashboard: my jobs, post a job, a job's page, notifications.
import { html } from "../ui/html.js";
import { Notifications } from "../ui/notifications.js";
import { useRoute } from "../ui/router.js";
import { Shell } from "../ui/shell.js";
import { JobPage } from "./job.js";
import { MyJobs } from "./jobs.js";
import { PostJob } from "./post-job.js";

const LINKS = [
  ["jobs", "My jobs"],
  ["post", "Post a job"],
  ["notifications", "Notifications"],
];

export function CustomerApp() {
  const [screen = "jobs", id, sub] = useRoute();
  let body;
  if (screen === "post") body = html`<${PostJob} />`;
  else if (screen === "jobs" && id && sub === "edit") body = html`<${PostJob} jobId=${id} />`;
  else if (screen === "jobs" && id) body = html`<${JobPage} jobId=${id} />`;
  else if (screen === "notifications") body = html`<${Notifications} />`;
  else body = html`<${MyJobs} />`;
  return html`<${Shell} title="Customer" links=${LINKS} active=${screen}>${body}<//>`;
}
