import { PASSWORD_MAX_LENGTH, type LoginRequest, type LoginResponse, type UserDto } from "@clarive/shared";
import { z } from "./zod";

export const UserSchema = z
  .object({
    id: z.number().int().openapi({ description: "Identifies the user" }),
    username: z.string().openapi({ description: "Login name, unique", example: "alice" }),
    isAdmin: z.boolean().openapi({ description: "Administrators manage users, repositories and settings and read the audit trail" }),
    active: z.boolean().openapi({ description: "false: cannot log in, and the user's API keys and tokens are refused" }),
    createdAt: z.string().openapi({ format: "date-time", description: "When the account was created" }),
  })
  .openapi("User", { description: "A user account" }) satisfies z.ZodType<UserDto>;

export const LoginBody = z
  .strictObject({
    username: z.string().min(1).max(64).openapi({ description: "Login name", example: "alice" }),
    password: z.string().min(1).max(PASSWORD_MAX_LENGTH).openapi({ description: "The user's password" }),
    label: z.string().trim().min(1).max(100).optional().openapi({ description: "Where the key is used, e.g. 'VS Code'" }),
  })
  .openapi("LoginRequest", { description: "Credentials to exchange for an API key" }) satisfies z.ZodType<LoginRequest>;

export const LoginResponseSchema = z
  .object({
    apiKey: z.string().openapi({ description: "Send as `Authorization: Bearer <apiKey>`; shown only here" }),
    user: UserSchema.openapi({ description: "The user who logged in" }),
  })
  .openapi("LoginResponse", { description: "A new API key and its user" }) satisfies z.ZodType<LoginResponse>;
