/**
 * Who is signed in where. API keys are kept only in SecretStorage (each with its server URL, so a
 * key is never sent to another server); the user record is kept in memory. Several accounts (servers
 * or users) can be kept, keyed by server URL and username; one is active per window (its id in the
 * window's workspace state). Every change goes through here so the context keys
 * (`clarive.signedIn`, `clarive.isAdmin`) never disagree with the state.
 */
import type { UserDto } from "@clarive/shared";
import { ClariveClient, type ClientOptions } from "./api/client";
import { ApiError } from "./api/errors";
import { accountId, parseAccounts, type Account } from "./core/accounts";
import type { KeyValueStore, SecretStore, SetContext } from "./ui/stores";

export type { Account } from "./core/accounts";

/** The active account of the last window that changed it: what a new window starts with. */
export const SESSION_SECRET_KEY = "clarive.session";
/** Every account kept: [{serverUrl, username, apiKey}]. */
export const ACCOUNTS_SECRET_KEY = "clarive.accounts";
/** In the window's workspace state: the id of the account active in that window. */
export const ACTIVE_ACCOUNT_STATE_KEY = "clarive.activeAccount";

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
    /** The window's own state (workspaceState), for its active account; none: the last one used. */
    private readonly windowState?: KeyValueStore,
  ) {}

  /** Every account kept, active or not. */
  async accounts(): Promise<Account[]> {
    return parseAccounts(await this.secrets.get(ACCOUNTS_SECRET_KEY));
  }

  private async saveAccounts(accounts: Account[]): Promise<void> {
    if (accounts.length === 0) await this.secrets.delete(ACCOUNTS_SECRET_KEY);
    else
      await this.secrets.store(
        ACCOUNTS_SECRET_KEY,
        JSON.stringify(accounts.map(({ serverUrl, username, apiKey }) => ({ serverUrl, username, apiKey }))),
      );
  }

  private async keepAccount(serverUrl: string, username: string, apiKey: string): Promise<void> {
    const id = accountId(serverUrl, username);
    const others = (await this.accounts()).filter((account) => account.id !== id);
    await this.saveAccounts([...others, { id, serverUrl, username, apiKey }]);
  }

  /** Forgets an account here (its key is not revoked: see signOut). */
  async forgetAccount(id: string): Promise<void> {
    await this.saveAccounts((await this.accounts()).filter((account) => account.id !== id));
  }

  /** The id of the account active in this window. */
  get activeAccountId(): string | undefined {
    return this.current && accountId(this.current.serverUrl, this.current.user.username);
  }

  /**
   * Makes a kept account this window's active one, checking its key with /me first; a key the
   * server refuses forgets the account (and rejects with the ApiError).
   */
  async switchTo(id: string): Promise<SignedIn> {
    const account = (await this.accounts()).find((candidate) => candidate.id === id);
    if (!account) throw new Error("That account is no longer signed in.");
    try {
      return await this.establish(account.serverUrl, account.apiKey);
    } catch (error) {
      if (error instanceof ApiError && error.unauthorized) await this.forgetAccount(id);
      throw error;
    }
  }

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
    const windowAccount = this.windowState?.get<string>(ACTIVE_ACCOUNT_STATE_KEY);
    const kept = windowAccount ? (await this.accounts()).find((account) => account.id === windowAccount) : undefined;
    const stored = kept ? { serverUrl: kept.serverUrl, apiKey: kept.apiKey } : parseStored(await this.secrets.get(SESSION_SECRET_KEY));
    if (!stored) {
      await this.apply(undefined);
      return "signed-out";
    }
    const client = this.clientFor(stored.serverUrl, stored.apiKey);
    try {
      const user = await client.me();
      // An entry from before accounts were kept is kept as one now.
      await this.keepAccount(stored.serverUrl, user.username, stored.apiKey);
      await this.apply({ serverUrl: stored.serverUrl, user, client });
      return "signed-in";
    } catch (error) {
      if (error instanceof ApiError && error.unauthorized) {
        await this.secrets.delete(SESSION_SECRET_KEY);
        await this.saveAccounts((await this.accounts()).filter((account) => account.apiKey !== stored.apiKey));
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
    await this.keepAccount(serverUrl, user.username, apiKey);
    await this.windowState?.update(ACTIVE_ACCOUNT_STATE_KEY, accountId(serverUrl, user.username));
    const signedIn = { serverUrl, user, client };
    this.unreachable = undefined;
    await this.apply(signedIn);
    return signedIn;
  }

  /**
   * Signs the active account out: forgets the key locally whatever the server says; revoking it on
   * the server is best effort. Other accounts stay kept (Switch Account).
   */
  async signOut(): Promise<{ revoked: boolean }> {
    const client = this.current?.client;
    const id = this.activeAccountId;
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
    if (id) await this.forgetAccount(id);
    await this.windowState?.update(ACTIVE_ACCOUNT_STATE_KEY, undefined);
    this.unreachable = undefined;
    await this.apply(undefined);
    return { revoked };
  }

  /** Called when the server rejects the key mid-session (revoked elsewhere, user deactivated). */
  async expire(): Promise<void> {
    const id = this.activeAccountId;
    if (id) await this.forgetAccount(id);
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
