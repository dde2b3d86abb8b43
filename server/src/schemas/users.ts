import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_PATTERN } from "@clarive/shared";
import { z } from "./zod";

const Password = z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH);

export const CreateUserBody = z
  .strictObject({
    username: z.string().regex(USERNAME_PATTERN, "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64"),
    password: Password,
    isAdmin: z.boolean().optional(),
  })
  .openapi("CreateUserRequest");

export const UpdateUserBody = z
  .strictObject({ password: Password.optional(), isAdmin: z.boolean().optional(), active: z.boolean().optional() })
  .openapi("UpdateUserRequest");

export const UsernameParams = z.strictObject({
  username: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "username", in: "path" }, example: "alice" }),
});
