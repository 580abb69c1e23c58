// Hash routes (#/jobs/job_…): the server serves one page, the browser keeps the place on reload.
import { useEffect, useState } from "./html.js";

function current() {
  return window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
}

export function useRoute() {
  const [parts, setParts] = useState(current());
  useEffect(() => {
    const changed = () => setParts(current());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return parts;
}

export function href(...parts) {
  return "#/" + parts.map(encodeURIComponent).join("/");
}

export function navigate(...parts) {
  window.location.hash = href(...parts);
}
