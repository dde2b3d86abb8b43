/** TokenDto fixtures for unit tests. */
import type { TokenDto } from "@clarive/shared";

export const NOW = new Date("2026-06-15T12:00:00.000Z");
export const DAY = 24 * 60 * 60 * 1000;

export function tokenFixture(overrides: Partial<TokenDto> = {}, expiresInDays = 30): TokenDto {
  return {
    id: 1,
    description: "laptop",
    permission: "read-write",
    repositories: ["acme/widgets"],
    allRepositories: false,
    hint: "clapat_…Xy9Q",
    active: true,
    expired: false,
    expiresAt: new Date(NOW.getTime() + expiresInDays * DAY).toISOString(),
    createdAt: "2026-06-01T08:30:00.000Z",
    updatedAt: "2026-06-01T08:30:00.000Z",
    lastUsedAt: null,
    lastUsedIp: null,
    rotatedAt: null,
    reuseDetectedAt: null,
    allowedIps: [],
    recentIps: [],
    ...overrides,
  };
}
