import { NAME_PATTERN, type ErrorBody } from "@clarive/shared";
import { z } from "./zod";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation_failed" }),
      message: z.string().openapi({ example: "description: Too small: expected string to have >=1 characters" }),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error") satisfies z.ZodType<ErrorBody>;

export const IdParams = z.strictObject({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2_147_483_647)
    .openapi({ param: { name: "id", in: "path" }, example: 1 }),
});

// Loose here on purpose: the service checks names with the rules of shared/ and explains what is wrong.
const pathName = (name: string) =>
  z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name, in: "path" }, example: name === "project" ? "acme" : "widgets" });

export const RepositoryParams = z.strictObject({ project: pathName("project"), name: pathName("name") });

export const RepositoryFullName = z
  .string()
  .regex(new RegExp(`^${NAME_PATTERN.source.slice(1, -1)}/${NAME_PATTERN.source.slice(1, -1)}$`), 'must be "project/name"')
  .openapi({ example: "acme/widgets" });
