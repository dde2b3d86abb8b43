/**
 * The REST contract between the service and its clients (the extension among them).
 * The service's response schemas are typed against these, so a drift fails to compile.
 */

export type TokenPermission = "read" | "read-write";
export type PatAccess = "inherit" | "true" | "false";
export type MemberAccess = "read" | "write";

export interface UserDto {
  id: number;
  username: string;
  isAdmin: boolean;
  active: boolean;
  createdAt: string;
}

export interface LoginRequest {
  username: string;
  password: string;
  label?: string;
}

export interface LoginResponse {
  apiKey: string;
  user: UserDto;
}

export interface GitSettingsDto {
  patAuthEnabled: boolean;
  maxLifetimeDays: number;
}

export interface RepositoryDto {
  id: number;
  project: string;
  name: string;
  /** "project/name": how token scopes name the repository. */
  fullName: string;
  patAccess: PatAccess;
  effectivePatAccess: boolean;
  cloneUrl: string;
  /** The caller's own access (admins have write everywhere). */
  access: MemberAccess;
  createdAt: string;
}

export interface MemberDto {
  username: string;
  access: MemberAccess;
}

export interface TokenDto {
  id: number;
  description: string;
  permission: TokenPermission;
  /** "project/name" entries; empty when the token reaches every repository of its owner. */
  repositories: string[];
  allRepositories: boolean;
  /** e.g. "clapat_…Xy9Q": enough to recognise a token, never enough to use it. */
  hint: string;
  active: boolean;
  expired: boolean;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  /** When the secret was last replaced (POST /tokens/{id}/rotate); null if never. */
  rotatedAt: string | null;
  /** When a secret rotated out of this token was used after its grace window: it has leaked. */
  reuseDetectedAt: string | null;
}

/** POST /tokens/{id}/rotate: how long the old secret keeps working, 0 (default) to 1440 minutes. */
export interface RotateTokenRequest {
  graceMinutes?: number | undefined;
}

export const MAX_ROTATION_GRACE_MINUTES = 1440;

export interface CreatedTokenDto extends TokenDto {
  /** The secret itself: present in the create response only. */
  token: string;
}

export interface CreateTokenRequest {
  description: string;
  expiresInDays?: number;
  expiresAt?: string;
  repositories?: string[];
  permission: TokenPermission;
}

export interface UpdateTokenRequest {
  description?: string;
  repositories?: string[];
  permission?: TokenPermission;
  active?: boolean;
}

export interface AuditEventDto {
  id: number;
  actor: string | null;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `before` to get the next (older) page; null on the last page. */
  nextCursor: number | null;
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: unknown;
  };
}

/** POST /credentials/revoke: strings found somewhere public, each a token or text containing tokens. */
export interface RevokeCredentialsRequest {
  credentials: string[];
}

/** The same for every report, so it reveals nothing about which strings were live tokens. */
export interface RevokeCredentialsResponse {
  message: string;
}
