import { z } from "./zod";

/** What nginx `auth_request` (or Traefik forwardAuth) tells the hook about the git request it holds. */
export const GitAuthHookHeaders = z.object({
  "x-original-uri": z.string().max(8192).openapi({
    description: "The git request's path and query as the client sent it (nginx: `$request_uri`)",
    example: "/git/acme/widgets.git/info/refs?service=git-upload-pack",
  }),
  "x-original-method": z
    .string()
    .max(16)
    .optional()
    .openapi({ description: "The git request's method (nginx: `$request_method`); GET when absent", example: "POST" }),
});
