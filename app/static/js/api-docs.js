// /api/docs: Swagger UI over Tavoli's own OpenAPI document, from the vendored bundle.
// No inline script (the CSP forbids it) and nothing fetched from another host.
"use strict";
// Both scripts are deferred: the bundle has run, and the page is parsed, when this runs.
window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // the default badge asks validator.swagger.io
  defaultModelsExpandDepth: 0,
});
