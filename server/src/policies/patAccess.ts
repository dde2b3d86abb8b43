import type { RepositorySwitch } from "@clarive/shared";

/** DESIGN §3: a repository's switch "true" → on, "false" → off, "inherit" → the global setting. */
const resolveSwitch = (value: RepositorySwitch, globalSetting: boolean): boolean =>
  value === "inherit" ? globalSetting : value === "true";

/** Whether personal access tokens may be used for a repository at all. */
export const effectivePatAccess = (patAccess: RepositorySwitch, patAuthEnabled: boolean): boolean =>
  resolveSwitch(patAccess, patAuthEnabled);

/** Whether pushes to a repository are refused when they carry a live token. */
export const effectivePushProtection = (pushProtection: RepositorySwitch, globalPushProtection: boolean): boolean =>
  resolveSwitch(pushProtection, globalPushProtection);
