/**
 * Expiry awareness: after sign-in / start and then once a day, one notification for the active
 * tokens expiring within the warning days, with "Create Replacement" opening Create Token
 * pre-filled from the soonest one.
 */
import type { TokenDto } from "@clarive/shared";
import { relativeExpiry, tokensExpiringSoon } from "./core/expiry";
import { replacementPrefill, type TokenFormPrefill } from "./core/tokenForm";
import type { Ui } from "./ui/ui";

export const CREATE_REPLACEMENT = "Create Replacement";
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ExpiryNotifierDeps {
  ui(): Ui;
  /** The current list, reloaded: undefined when signed out or the server failed. */
  loadTokens(): Promise<readonly TokenDto[] | undefined>;
  warningDays(): number;
  createReplacement(prefill: TokenFormPrefill): PromiseLike<unknown>;
  now(): Date;
}

export function expiryMessage(expiring: readonly TokenDto[], now: Date): string {
  const [first, ...rest] = expiring;
  if (!first) return "";
  const head = `Your Clarive token "${first.description}" ${relativeExpiry(first.expiresAt, now)}.`;
  return rest.length === 0 ? head : `${head} ${rest.length} more token${rest.length === 1 ? "" : "s"} expire soon too.`;
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
    const expiring = tokensExpiringSoon(tokens, this.deps.warningDays(), now);
    const first = expiring[0];
    if (!first) return [];
    void this.deps
      .ui()
      .message("warning", expiryMessage(expiring, now), {}, CREATE_REPLACEMENT)
      .then(async (answer) => {
        if (answer === CREATE_REPLACEMENT) await this.deps.createReplacement(replacementPrefill(first));
      });
    return expiring;
  }
}
