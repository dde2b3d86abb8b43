import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_PATTERN } from "@clarive/shared";
import { z } from "./zod";

const Password = z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).openapi({ description: "At least 8 characters" });

export const CreateUserBody = z
  .strictObject({
    username: z.string().regex(USERNAME_PATTERN, "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64").openapi({
      description: "Login name: letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64",
      example: "alice",
    }),
    password: Password,
    isAdmin: z.boolean().optional().openapi({ description: "Make the user an administrator (default false)" }),
  })
  .openapi("CreateUserRequest", { description: "A new user account (administrators)" });

export const UpdateUserBody = z
  .strictObject({
    password: Password.optional(),
    isAdmin: z.boolean().optional().openapi({ description: "Grant or withdraw administrator rights" }),
    active: z.boolean().optional().openapi({ description: "false deactivates the user: no login, API keys and tokens refused at once" }),
  })
  .refine((body) => body.password !== undefined || body.isAdmin !== undefined || body.active !== undefined, {
    message: "Nothing to change: give password, isAdmin and/or active",
  })
  .openapi("UpdateUserRequest", { description: "The account fields to change; the others keep their values" });

export const UsernameParams = z.strictObject({
  username: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "username", in: "path", description: "The user's login name" }, example: "alice" }),
});
