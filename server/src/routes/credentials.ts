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
    summary: "Report leaked tokens: every live token among the strings is deactivated (no login needed)",
    tag: "credentials",
    auth: "none",
    body: RevokeCredentialsBody,
    success: {
      status: 202,
      description: "Accepted; the same answer whether or not any string was a live token",
      schema: RevokeCredentialsResponseSchema,
    },
    errors: [429],
    handler: async ({ body, meta }) => {
      await revokeReportedCredentials(db, body.credentials, meta);
      return ACCEPTED;
    },
  });
}
