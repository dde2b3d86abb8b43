/**
 * The choices of the Create / Edit Token forms, as data: expiration presets within the server's
 * limit, repository items, the request bodies, and which chosen repositories refuse tokens.
 */
import {
  EXPIRY_PRESET_DAYS,
  MAX_EXPIRY_DAYS,
  type CreateTokenRequest,
  type RepositoryDto,
  type TokenDto,
  type TokenPermission,
  type UpdateTokenRequest,
} from "@clarive/shared";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Values a Create Token form can start from (a replacement for an expiring token, say). */
export interface TokenFormPrefill {
  description?: string;
  expiresInDays?: number;
  /** Empty or undefined: all repositories. */
  repositories?: string[];
  permission?: TokenPermission;
}

export type ExpiryChoice =
  { kind: "days"; days: number; label: string; description: string } | { kind: "date"; label: string; description: string };

function presetLabel(days: number): string {
  if (days === 7) return "7 days (1 week)";
  if (days === 365) return "365 days (1 year)";
  if (days === 730) return "730 days (2 years)";
  return `${days} days`;
}

/** The presets the server allows (maxLifetimeDays may be below 730), then "a date". */
export function expiryChoices(maxLifetimeDays: number, now: Date, preferredDays?: number): ExpiryChoice[] {
  const maxDays = Math.min(MAX_EXPIRY_DAYS, maxLifetimeDays);
  const presets: ExpiryChoice[] = EXPIRY_PRESET_DAYS.filter((days) => days <= maxDays).map((days) => ({
    kind: "days",
    days,
    label: presetLabel(days),
    description: `until ${new Date(now.getTime() + days * DAY_MS).toISOString().slice(0, 10)}`,
  }));
  // The preferred preset (30 days unless prefilled) comes first, so Enter accepts it.
  const preferred = preferredDays ?? 30;
  presets.sort((a, b) => Number(b.kind === "days" && b.days === preferred) - Number(a.kind === "days" && a.days === preferred));
  return [...presets, { kind: "date", label: "A date…", description: `YYYY-MM-DD, at most ${maxDays} days from today` }];
}

export interface PermissionChoice {
  label: string;
  detail: string;
  permission: TokenPermission;
}

export function permissionChoices(preferred: TokenPermission = "read-write"): PermissionChoice[] {
  const choices: PermissionChoice[] = [
    { label: "Read & write", detail: "clone, fetch and push", permission: "read-write" },
    { label: "Read-only", detail: "clone and fetch only", permission: "read" },
  ];
  return choices.sort((a, b) => Number(b.permission === preferred) - Number(a.permission === preferred));
}

export interface RepositoryChoice {
  label: string;
  description: string;
  picked: boolean;
  fullName: string;
}

export function repositoryChoices(repositories: readonly RepositoryDto[], selected: readonly string[]): RepositoryChoice[] {
  return [...repositories]
    .sort((a, b) => a.fullName.localeCompare(b.fullName))
    .map((repository) => ({
      label: repository.fullName,
      description: `${repository.access === "write" ? "you can push" : "read-only for you"}${repository.effectivePatAccess ? "" : " · PAT auth off"}`,
      picked: selected.includes(repository.fullName),
      fullName: repository.fullName,
    }));
}

/**
 * Chosen repositories where tokens are refused (effective PAT access off). For "all repositories"
 * (an empty scope), every reachable repository counts.
 */
export function repositoriesRefusingTokens(scope: readonly string[], repositories: readonly RepositoryDto[]): string[] {
  const chosen = scope.length === 0 ? repositories : repositories.filter((repository) => scope.includes(repository.fullName));
  return chosen.filter((repository) => !repository.effectivePatAccess).map((repository) => repository.fullName);
}

export function createTokenRequest(
  description: string,
  expiry: { expiresInDays: number } | { expiresAt: Date },
  scope: readonly string[],
  permission: TokenPermission,
): CreateTokenRequest {
  return {
    description: description.trim(),
    ...("expiresInDays" in expiry ? { expiresInDays: expiry.expiresInDays } : { expiresAt: expiry.expiresAt.toISOString() }),
    ...(scope.length > 0 && { repositories: [...scope] }),
    permission,
  };
}

/** Only the fields that changed, so an edit never rewrites what the user did not touch. */
export function updateTokenRequest(
  token: Pick<TokenDto, "description" | "repositories" | "allRepositories" | "permission">,
  edited: { description: string; scope: readonly string[]; permission: TokenPermission },
): UpdateTokenRequest {
  const request: UpdateTokenRequest = {};
  if (edited.description.trim() !== token.description) request.description = edited.description.trim();
  const before = token.allRepositories ? [] : [...token.repositories].sort();
  const after = [...edited.scope].sort();
  if (before.join("\n") !== after.join("\n")) request.repositories = after;
  if (edited.permission !== token.permission) request.permission = edited.permission;
  return request;
}

/** What "Create Replacement" pre-fills for an expiring token. */
export function replacementPrefill(
  token: Pick<TokenDto, "description" | "repositories" | "allRepositories" | "permission">,
): TokenFormPrefill {
  return {
    description: token.description,
    repositories: token.allRepositories ? [] : [...token.repositories],
    permission: token.permission,
  };
}
