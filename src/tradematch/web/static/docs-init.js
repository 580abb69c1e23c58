// Swagger UI's stock page starts it from an inline script; the Content-Security-Policy allows
// scripts from this origin only, so it starts here instead.
window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // never send the spec to a third-party validator
  oauth2RedirectUrl: window.location.origin + "/docs/oauth2-redirect",
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
