import type { RevokeCredentialsResponse } from "@clarive/shared";
import type { Api } from "../http/api";
import { RevokeCredentialsBody, RevokeCredentialsResponseSchema } from "../schemas/credentials";
import { revokeReportedCredentials } from "../services/credentialReports";

/** One answer for every accepted report: which strings were live tokens is never told. */
const ACCEPTED: RevokeCredentialsResponse = Object.freeze({
  message: "Thank you. Any live personal access token among these strings has been deactivated.",
});

export function registerCredentialRoutes(api: Api): void {
  const { db } = api.deps;

  api.route({
    method: "post",
    path: "/credentials/revoke",
    operationId: "reportLeakedCredentials",
    summary: "Report leaked tokens: every live token among the strings is deactivated (no login needed)",
    description:
      "For anyone who finds a token somewhere public (a log, a paste, a commit): no login needed. Every live personal access token found in the strings is deactivated, each recorded in the audit trail. The answer is the same whether or not any string was a live token, so it tells nothing about which tokens exist. Limited per address (429 with Retry-After).",
    tag: "credentials",
    auth: "none",
    body: RevokeCredentialsBody,
    examples: {
      cloneCommand: {
        summary: "A clone command with a token, found in a public CI log",
        value: { credentials: ["git clone https://alice:clapat_…@git.example.com/git/acme/widgets"] },
      },
    },
    success: {
      status: 202,
      description: "Accepted; the same answer whether or not any string was a live token",
      schema: RevokeCredentialsResponseSchema,
    },
    errors: ["too_many_requests"],
    handler: async ({ body, meta }) => {
      await revokeReportedCredentials(db, body.credentials, meta);
      return ACCEPTED;
    },
  });
}
