/**
 * The REST contract between the service and its clients (the extension among them).
 * The service's response schemas are typed against these, so a drift fails to compile.
 */

export type TokenPermission = "read" | "read-write";
/** A per-repository switch: "inherit" follows the global setting, "true"/"false" override it. */
export type RepositorySwitch = "inherit" | "true" | "false";
export type PatAccess = RepositorySwitch;
export type PushProtection = RepositorySwitch;
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
  /** Refuse pushes that carry a live token (default for repositories whose pushProtection is "inherit"). */
  pushProtection: boolean;
}

export interface RepositoryDto {
  id: number;
  project: string;
  name: string;
  /** "project/name": how token scopes name the repository. */
  fullName: string;
  patAccess: PatAccess;
  effectivePatAccess: boolean;
  pushProtection: PushProtection;
  effectivePushProtection: boolean;
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
  /** IPv4/IPv6 addresses and CIDR ranges (normal form) git may use the token from; empty = anywhere. */
  allowedIps: string[];
  /** The last 5 distinct client addresses the token was used from, most recent first. */
  recentIps: RecentIpDto[];
}

export interface RecentIpDto {
  ip: string;
  lastUsedAt: string;
}

/** GET /admin/tokens: any user's token, with its owner, never the secret. */
export interface AdminTokenDto extends TokenDto {
  username: string;
  /** Its lifetime is longer than today's maxLifetimeDays (the policy was lowered after it was issued). */
  exceedsPolicy: boolean;
}

export type AdminTokenState = "active" | "inactive" | "expired";

/** One page of the inventory, newest first; pass `nextCursor` as `cursor` for the next. */
export interface AdminTokenPage {
  items: AdminTokenDto[];
  nextCursor: string | null;
}

/** PATCH /admin/tokens/{id} */
export interface AdminUpdateTokenRequest {
  active: boolean;
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
  allowedIps?: string[];
}

export interface UpdateTokenRequest {
  description?: string;
  repositories?: string[];
  permission?: TokenPermission;
  active?: boolean;
  allowedIps?: string[];
  /** A new expiry (one of the two), counted from now and bounded by maxLifetimeDays like a new token's. */
  expiresInDays?: number;
  expiresAt?: string;
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
