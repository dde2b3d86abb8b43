import type { AuditEventDto, RepositoryDto, TokenDto, UserDto } from "@clarive/shared";
import type { AuditRow, UserRow } from "../repositories/types";
import type { RepositoryView } from "../services/repositories";
import type { TokenView } from "../services/tokens";

export const presentUser = (user: UserRow): UserDto => ({
  id: user.id,
  username: user.username,
  isAdmin: user.is_admin,
  active: user.active,
  createdAt: user.created_at.toISOString(),
});

export const presentRepository = (repository: RepositoryView, publicUrl: string): RepositoryDto => ({
  id: repository.id,
  project: repository.project,
  name: repository.name,
  fullName: `${repository.project}/${repository.name}`,
  patAccess: repository.pat_access,
  effectivePatAccess: repository.effectivePatAccess,
  pushProtection: repository.push_protection,
  effectivePushProtection: repository.effectivePushProtection,
  cloneUrl: `${publicUrl}/git/${encodeURIComponent(repository.project)}/${encodeURIComponent(repository.name)}.git`,
  access: repository.access,
  createdAt: repository.created_at.toISOString(),
});

export const presentToken = (token: TokenView, now = new Date()): TokenDto => ({
  id: token.id,
  description: token.description,
  permission: token.permission,
  repositories: token.all_repositories ? [] : token.repositories,
  allRepositories: token.all_repositories,
  hint: token.token_hint,
  active: token.active,
  expired: token.expires_at.getTime() <= now.getTime(),
  expiresAt: token.expires_at.toISOString(),
  createdAt: token.created_at.toISOString(),
  updatedAt: token.updated_at.toISOString(),
  lastUsedAt: token.last_used_at?.toISOString() ?? null,
  lastUsedIp: token.last_used_ip,
  rotatedAt: token.rotated_at?.toISOString() ?? null,
  reuseDetectedAt: token.reuse_detected_at?.toISOString() ?? null,
  allowedIps: token.allowed_ips,
  recentIps: token.recentIps.map((r) => ({ ip: r.ip, lastUsedAt: r.last_used_at.toISOString() })),
});

export const presentAuditEvent = (event: AuditRow): AuditEventDto => ({
  id: event.id,
  actor: event.actor_name,
  action: event.action,
  target: event.target,
  details: event.details,
  ip: event.ip,
  createdAt: event.created_at.toISOString(),
});
