/**
 * Expiry awareness: after sign-in / start and then once a day, one notification for the active
 * tokens expiring within the warning days, with "Create Replacement" opening Create Token
 * pre-filled from the soonest one. Each token is named once per expiry date (a rotation, which
 * sets a new date, makes it eligible again), and never when it was made that short on purpose.
 */
import type { TokenDto } from "@clarive/shared";
import { relativeExpiry, tokensExpiringSoon } from "./core/expiry";
import { replacementPrefill, type TokenFormPrefill } from "./core/tokenForm";
import type { KeyValueStore } from "./ui/stores";
import type { Ui } from "./ui/ui";

export const EXPIRY_NOTIFIED_STATE_KEY = "clarive.expiryNotified";

export const CREATE_REPLACEMENT = "Create Replacement";
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ExpiryNotifierDeps {
  ui(): Ui;
  /** The current list, reloaded: undefined when signed out or the server failed. */
  loadTokens(): Promise<readonly TokenDto[] | undefined>;
  warningDays(): number;
  createReplacement(prefill: TokenFormPrefill): PromiseLike<unknown>;
  now(): Date;
  /** Where the tokens already warned about are remembered across restarts (the global state). */
  state: KeyValueStore;
}

const noticeKey = (token: Pick<TokenDto, "id" | "expiresAt">) => `${token.id}@${token.expiresAt}`;

/** Issued (or rotated) for no longer than the warning window: short on purpose, not worth a warning. */
export function shortOnPurpose(token: Pick<TokenDto, "createdAt" | "rotatedAt" | "expiresAt">, warningDays: number): boolean {
  const issued = Date.parse(token.rotatedAt ?? token.createdAt);
  return Date.parse(token.expiresAt) - issued <= warningDays * DAY_MS;
}

export function expiryMessage(expiring: readonly TokenDto[], now: Date): string {
  const [first, ...rest] = expiring;
  if (!first) return "";
  const head = `Your Clarive token "${first.description}" ${relativeExpiry(first.expiresAt, now)}.`;
  return rest.length === 0 ? head : `${head} ${rest.length} more token${rest.length === 1 ? " expires" : "s expire"} soon too.`;
}

export class ExpiryNotifier {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: ExpiryNotifierDeps) {}

  /** Checks now, then every day while the editor stays open. */
  start(): void {
    this.stop();
    void this.check();
    this.timer = setInterval(() => void this.check(), DAY_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves to the tokens it warned about (for tests); the notification is not awaited. */
  async check(): Promise<TokenDto[]> {
    const tokens = await this.deps.loadTokens();
    if (!tokens) return [];
    const now = this.deps.now();
    const warningDays = this.deps.warningDays();
    const notified = new Set(this.deps.state.get<string[]>(EXPIRY_NOTIFIED_STATE_KEY) ?? []);
    const expiring = tokensExpiringSoon(tokens, warningDays, now).filter(
      (token) => !shortOnPurpose(token, warningDays) && !notified.has(noticeKey(token)),
    );
    const first = expiring[0];
    if (!first) return [];
    // Only keys of tokens still listed are kept, so the record does not grow forever.
    const listed = new Set(tokens.map(noticeKey));
    await this.deps.state.update(EXPIRY_NOTIFIED_STATE_KEY, [
      ...[...notified].filter((key) => listed.has(key)),
      ...expiring.map(noticeKey),
    ]);
    void this.deps
      .ui()
      .message("warning", expiryMessage(expiring, now), {}, CREATE_REPLACEMENT)
      .then(async (answer) => {
        if (answer === CREATE_REPLACEMENT) await this.deps.createReplacement(replacementPrefill(first));
      });
    return expiring;
  }
}
