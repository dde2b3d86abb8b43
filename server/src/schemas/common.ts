import { NAME_PATTERN, type ErrorBody } from "@clarive/shared";
import { ALL_ERROR_CODES, ERROR_CODES } from "../errorCodes";
import { z } from "./zod";

const CODE_LIST = ALL_ERROR_CODES.map((code) => `- \`${code}\` (${ERROR_CODES[code].status}): ${ERROR_CODES[code].meaning}`).join("\n");

export const ErrorSchema = z
  .object({
    error: z
      .object({
        code: z.enum(ALL_ERROR_CODES).openapi({
          description: `Stable and machine-readable: branch on this, not on the message. Each operation lists the codes it can answer.\n\n${CODE_LIST}`,
          example: "validation_failed",
        }),
        message: z.string().openapi({
          description: "For people: what went wrong and how to fix it; may change between versions",
          example: "body.description: Too small: expected string to have >=1 characters",
        }),
        details: z.unknown().optional().openapi({
          description: "With validation_failed: the problems, each `{ path, message }`; with some other codes: the offending value",
        }),
      })
      .openapi({ description: "What went wrong" }),
  })
  .openapi("Error", { description: "The body of every error answer (4xx and 5xx)" }) satisfies z.ZodType<ErrorBody>;

export const IdParams = z.strictObject({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2_147_483_647)
    .openapi({ param: { name: "id", in: "path", description: "The token's id" }, example: 1 }),
});

// Loose here on purpose: the service checks names with the rules of shared/ and explains what is wrong.
const pathName = (name: string) =>
  z
    .string()
    .min(1)
    .max(200)
    .openapi({
      param: { name, in: "path", description: name === "project" ? "The project" : "The repository's name, without .git" },
      example: name === "project" ? "acme" : "widgets",
    });

export const RepositoryParams = z.strictObject({ project: pathName("project"), name: pathName("name") });

export const RepositoryFullName = z
  .string()
  .regex(new RegExp(`^${NAME_PATTERN.source.slice(1, -1)}/${NAME_PATTERN.source.slice(1, -1)}$`), 'must be "project/name"')
  .openapi({ description: "A repository as project/name", example: "acme/widgets" });
