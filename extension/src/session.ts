/**
 * Who is signed in where. The API key is kept only in SecretStorage (with its server URL, so a key
 * is never sent to another server); the user record is kept in memory. Every change goes through
 * here so the context keys (`clarive.signedIn`, `clarive.isAdmin`) never disagree with the state.
 */
import type { UserDto } from "@clarive/shared";
import { ClariveClient, type ClientOptions } from "./api/client";
import { ApiError } from "./api/errors";
import type { SecretStore, SetContext } from "./ui/stores";

export const SESSION_SECRET_KEY = "clarive.session";

interface StoredSession {
  serverUrl: string;
  apiKey: string;
}

export interface SignedIn {
  serverUrl: string;
  user: UserDto;
  client: ClariveClient;
}

function parseStored(text: string | undefined): StoredSession | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null) {
      const { serverUrl, apiKey } = value as Record<string, unknown>;
      if (typeof serverUrl === "string" && typeof apiKey === "string") return { serverUrl, apiKey };
    }
  } catch {
    // A corrupt entry is treated as no session; signing in again overwrites it.
  }
  return undefined;
}

export type RestoreResult = "signed-in" | "signed-out" | "expired" | "unreachable";

export class Session {
  private current: SignedIn | undefined;
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly secrets: SecretStore,
    private readonly setContext: SetContext,
    private readonly clientOptions: ClientOptions = {},
  ) {}

  get signedIn(): SignedIn | undefined {
    return this.current;
  }

  onDidChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  clientFor(serverUrl: string, apiKey?: string): ClariveClient {
    return new ClariveClient(serverUrl, apiKey, this.clientOptions);
  }

  /**
   * At start: checks the stored key with /me. A rejected key is forgotten (the user signs in again);
   * an unreachable server keeps the key, since the next refresh may well reach it.
   */
  async restore(): Promise<RestoreResult> {
    const stored = parseStored(await this.secrets.get(SESSION_SECRET_KEY));
    if (!stored) {
      await this.apply(undefined);
      return "signed-out";
    }
    const client = this.clientFor(stored.serverUrl, stored.apiKey);
    try {
      const user = await client.me();
      await this.apply({ serverUrl: stored.serverUrl, user, client });
      return "signed-in";
    } catch (error) {
      if (error instanceof ApiError && error.unauthorized) {
        await this.secrets.delete(SESSION_SECRET_KEY);
        await this.apply(undefined);
        return "expired";
      }
      // Keep the key but show the tree's error item: we cannot tell who we are yet.
      await this.apply(undefined);
      this.unreachable = stored;
      return "unreachable";
    }
  }

  /** A stored session whose server did not answer at start; retried by the tree's refresh. */
  unreachable: StoredSession | undefined;

  async retryUnreachable(): Promise<boolean> {
    if (!this.unreachable) return false;
    const result = await this.restore();
    if (result !== "unreachable") this.unreachable = undefined;
    return result === "signed-in";
  }

  /**
   * Completes a sign-in: verifies the key with /me first and stores it only then, so a failure
   * leaves the previous state untouched (no half state).
   */
  async establish(serverUrl: string, apiKey: string): Promise<SignedIn> {
    const client = this.clientFor(serverUrl, apiKey);
    const user = await client.me();
    await this.secrets.store(SESSION_SECRET_KEY, JSON.stringify({ serverUrl, apiKey } satisfies StoredSession));
    const signedIn = { serverUrl, user, client };
    this.unreachable = undefined;
    await this.apply(signedIn);
    return signedIn;
  }

  /** Forgets the key locally whatever the server says; revoking it on the server is best effort. */
  async signOut(): Promise<{ revoked: boolean }> {
    const client = this.current?.client;
    let revoked = false;
    if (client) {
      try {
        await client.logout();
        revoked = true;
      } catch {
        revoked = false;
      }
    }
    await this.secrets.delete(SESSION_SECRET_KEY);
    this.unreachable = undefined;
    await this.apply(undefined);
    return { revoked };
  }

  /** Called when the server rejects the key mid-session (revoked elsewhere, user deactivated). */
  async expire(): Promise<void> {
    await this.secrets.delete(SESSION_SECRET_KEY);
    await this.apply(undefined);
  }

  private async apply(next: SignedIn | undefined): Promise<void> {
    this.current = next;
    await this.setContext("clarive.signedIn", next !== undefined);
    await this.setContext("clarive.isAdmin", next?.user.isAdmin === true);
    for (const listener of this.listeners) listener();
  }
}
