// Started from a file, not an inline script, for the Content-Security-Policy; no web fonts
// from elsewhere (the page uses the system's fonts).
window.Redoc.init(
  "/openapi.json",
  { disableSearch: true, hideDownloadButton: false },
  document.getElementById("redoc"),
);
