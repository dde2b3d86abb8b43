import type { RevokeCredentialsRequest, RevokeCredentialsResponse } from "@clarive/shared";
import { z } from "./zod";

export const MAX_REPORTED_CREDENTIALS = 100;

export const RevokeCredentialsBody = z
  .strictObject({
    credentials: z
      .array(z.string().max(8192, "each entry is at most 8192 characters"))
      .min(1, "give at least one string")
      .max(MAX_REPORTED_CREDENTIALS, `give at most ${MAX_REPORTED_CREDENTIALS} strings per report`)
      .openapi({
        description: "Strings found somewhere public: tokens (clapat_…) or text containing them. Anything else is ignored.",
        example: ["clapat_…", "git clone https://alice:clapat_…@git.example.com/git/acme/widgets"],
      }),
  })
  .openapi("RevokeCredentialsRequest", {
    description: "Strings found somewhere public that may contain personal access tokens",
  }) satisfies z.ZodType<RevokeCredentialsRequest>;

export const RevokeCredentialsResponseSchema = z
  .object({ message: z.string().openapi({ description: "Always the same thanks, whether or not any string was a live token" }) })
  .openapi("RevokeCredentialsResponse", {
    description: "The same answer for every accepted report",
  }) satisfies z.ZodType<RevokeCredentialsResponse>;
