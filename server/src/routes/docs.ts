import fs from "node:fs";
import path from "node:path";
import type Router from "@koa/router";
import { createRequire } from "node:module";
import type { Api } from "../http/api";
import { requestPublicUrl } from "../http/publicUrl";

const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const ASSETS = new Set(["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"]);

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Clarive Git PATs API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#ui" });</script>
</body></html>`;

/** The OpenAPI document and a Swagger UI served from the installed package (works offline). */
export function registerDocsRoutes(router: Router, api: Api): void {
  const document = api.openApiDocument();
  router.get("/api/v1/openapi.json", (ctx) => {
    // The server URL as this client reaches the service (https behind a TLS proxy), like clone URLs.
    const url = requestPublicUrl(ctx.req, api.deps.config);
    ctx.body = url === api.deps.config.publicUrl ? document : { ...document, servers: [{ url }] };
  });
  router.get("/docs", (ctx) => {
    ctx.type = "html";
    ctx.body = PAGE;
  });
  router.get("/docs/assets/:file", (ctx) => {
    const file = ctx.params.file ?? "";
    if (!ASSETS.has(file)) return;
    ctx.type = path.extname(file);
    ctx.set("Cache-Control", "public, max-age=86400");
    ctx.body = fs.createReadStream(path.join(SWAGGER_UI_DIR, file));
  });
}
