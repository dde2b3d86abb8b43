import { PASSWORD_MAX_LENGTH, type LoginRequest, type LoginResponse, type UserDto } from "@clarive/shared";
import { z } from "./zod";

export const UserSchema = z
  .object({
    id: z.number().int(),
    username: z.string(),
    isAdmin: z.boolean(),
    active: z.boolean(),
    createdAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("User") satisfies z.ZodType<UserDto>;

export const LoginBody = z
  .strictObject({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
    label: z.string().trim().min(1).max(100).optional().openapi({ description: "Where the key is used, e.g. 'VS Code'" }),
  })
  .openapi("LoginRequest") satisfies z.ZodType<LoginRequest>;

export const LoginResponseSchema = z
  .object({
    apiKey: z.string().openapi({ description: "Send as `Authorization: Bearer <apiKey>`; shown only here" }),
    user: UserSchema,
  })
  .openapi("LoginResponse") satisfies z.ZodType<LoginResponse>;
