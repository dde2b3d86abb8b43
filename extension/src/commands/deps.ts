/** Everything a command needs, injected: the extension passes the editor's, tests their own. */
import type { TokenDto } from "@clarive/shared";
import type { CaTrustRecords } from "../git/caTrust";
import type { GitCredentialStore } from "../git/credentialStore";
import type { LocalGitConfig } from "../git/gitConfig";
import type { GitApi } from "../git/gitApi";
import type { Session, SignedIn } from "../session";
import type { Clipboard, ExtensionSettings } from "../ui/stores";
import type { Log, Ui } from "../ui/ui";

export interface CommandDeps {
  /** A getter, so the real-editor suite can swap in a scripted UI after activation. */
  ui(): Ui;
  session: Session;
  settings: ExtensionSettings;
  clipboard: Clipboard;
  credentials: GitCredentialStore;
  log: Log;
  /** Reloads the Tokens tree; resolves once the new list is shown. */
  refreshTokens(): Promise<void>;
  /** The loaded list, for commands run from the palette that need to pick a token. */
  cachedTokens(): readonly TokenDto[];
  gitApi(): Promise<GitApi | undefined>;
  /** The repository's own config at this root folder, written with exactly one value per key. */
  gitConfig(folder: string): LocalGitConfig;
  /** The CA file requests trust besides the defaults (`clarive.caCertificate`, resolved), or undefined. */
  caFile(): string | undefined;
  /** The sslCAInfo keys Configure Git Remote wrote. */
  caTrust: CaTrustRecords;
  /** `git.terminalAuthentication`: whether git in the integrated terminal asks VS Code for credentials. */
  terminalAuthenticationEnabled(): boolean;
  now(): Date;
}

/** The signed-in session, or undefined after telling the user to sign in first. */
export async function requireSignedIn(deps: CommandDeps): Promise<SignedIn | undefined> {
  const signedIn = deps.session.signedIn;
  if (!signedIn) {
    await deps.ui().message("warning", "Sign in to a Clarive server first (Clarive: Sign In).", {});
  }
  return signedIn;
}
