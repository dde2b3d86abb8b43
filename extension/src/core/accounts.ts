/** The accounts kept in SecretStorage, one per server URL and username, as plain data. */

export interface Account {
  /** `${serverUrl}|${username}`. */
  id: string;
  serverUrl: string;
  username: string;
  apiKey: string;
}

export const accountId = (serverUrl: string, username: string) => `${serverUrl}|${username}`;

export function parseAccounts(text: string | undefined): Account[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.flatMap((entry: unknown) => {
      if (typeof entry !== "object" || entry === null) return [];
      const { serverUrl, username, apiKey } = entry as Record<string, unknown>;
      return typeof serverUrl === "string" && typeof username === "string" && typeof apiKey === "string"
        ? [{ id: accountId(serverUrl, username), serverUrl, username, apiKey }]
        : [];
    });
  } catch {
    return [];
  }
}
