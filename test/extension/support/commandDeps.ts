/** CommandDeps for running commands outside the editor: in-memory secrets and clipboard, a fake git API. */
import type { TokenDto } from "@clarive/shared";
import type { CommandDeps } from "../../../extension/src/commands/deps";
import { Transport } from "../../../extension/src/api/transport";
import { CaTrustRecords } from "../../../extension/src/git/caTrust";
import { GitCredentialStore } from "../../../extension/src/git/credentialStore";
import type { LocalGitConfig } from "../../../extension/src/git/gitConfig";
import type { GitApi, Remote, Repository } from "../../../extension/src/git/gitApi";
import { Session } from "../../../extension/src/session";
import type { ExtensionSettings, KeyValueStore } from "../../../extension/src/ui/stores";
import { MemorySecrets } from "./memorySecrets";
import { ScriptedUi } from "./scriptedUi";

/**
 * Records what Configure Git Remote does to a repository, instead of running git. The config has
 * git's semantics: a key holds a list of values (`--add` appends, `--replace-all` leaves one), and
 * the remotes the vscode.git API shows are read from it (first URL as fetchUrl, as git does).
 */
export class FakeRepository {
  readonly config = new Map<string, string[]>();

  constructor(readonly fsPath: string) {}

  /** The remotes as the vscode.git API's state lists them. */
  get remotes(): Remote[] {
    return [...this.config.keys()]
      .map((key) => /^remote\.(.+)\.url$/.exec(key)?.[1])
      .filter((name): name is string => name !== undefined)
      .map((name) => {
        const fetchUrl = this.config.get(`remote.${name}.url`)?.[0];
        const pushUrl = this.config.get(`remote.${name}.pushurl`)?.[0] ?? fetchUrl;
        return { name, ...(fetchUrl && { fetchUrl }), ...(pushUrl && { pushUrl }), isReadOnly: false };
      });
  }

  /** Adds a remote with these URLs, as `git remote add` and then `git config --add` would. */
  addRemoteUrls(name: string, urls: string[], pushUrls: string[] = []): void {
    this.config.set(`remote.${name}.url`, urls);
    if (pushUrls.length > 0) this.config.set(`remote.${name}.pushurl`, pushUrls);
  }

  /** One value per key, for assertions on keys written once. */
  value(key: string): string | undefined {
    const values = this.config.get(key);
    return values?.length === 1 ? values[0] : undefined;
  }

  /** What `git config --local` at this folder does. */
  localConfig(): LocalGitConfig {
    return {
      getAll: async (key) => [...(this.config.get(key) ?? [])],
      set: async (key, value) => void this.config.set(key, [value]),
      add: async (key, value) => void this.config.set(key, [...(this.config.get(key) ?? []), value]),
      unset: async (key) => this.config.delete(key),
    };
  }

  asRepository(): Repository {
    // Only the members the extension uses; the Uri and event are shaped as far as it reads them.
    const remotes = () => this.remotes;
    const add = (key: string, value: string) => void this.config.set(key, [...(this.config.get(key) ?? []), value]);
    return {
      rootUri: { fsPath: this.fsPath } as Repository["rootUri"],
      state: {
        HEAD: undefined,
        get remotes() {
          return remotes();
        },
        onDidChange: () => ({ dispose() {} }),
      },
      getConfig: async (key) => this.config.get(key)?.at(-1) ?? "",
      // As vscode.git's: `git config --local --add`.
      setConfig: async (key, value) => {
        add(key, value);
        return "";
      },
      addRemote: async (name, url) => add(`remote.${name}.url`, url),
      removeRemote: async (name) => {
        for (const key of [...this.config.keys()]) if (key.startsWith(`remote.${name}.`)) this.config.delete(key);
      },
      fetch: async () => undefined,
      push: async () => undefined,
      status: async () => undefined,
    };
  }
}

export interface TestDeps {
  deps: CommandDeps;
  ui: ScriptedUi;
  secrets: MemorySecrets;
  clipboard: string[];
  logLines: string[];
  settings: { serverUrl: string; warningDays: number; useProvider: boolean; caCertificate: string };
  /** The extension's global state (CA trust records). */
  state: Map<string, unknown>;
  contextKeys: Map<string, boolean>;
  repositories: FakeRepository[];
}

export function testDeps(options: { windowState?: KeyValueStore } = {}): TestDeps {
  const ui = new ScriptedUi();
  const secrets = new MemorySecrets();
  const clipboard: string[] = [];
  const logLines: string[] = [];
  const contextKeys = new Map<string, boolean>();
  const settingsState = { serverUrl: "", warningDays: 7, useProvider: true, caCertificate: "" };
  const settings: ExtensionSettings = {
    serverUrl: () => settingsState.serverUrl,
    setServerUrl: async (url) => {
      settingsState.serverUrl = url;
    },
    expiryWarningDays: () => settingsState.warningDays,
    useGitCredentialsProvider: () => settingsState.useProvider,
    caCertificate: () => settingsState.caCertificate,
  };
  const state = new Map<string, unknown>();
  const globalState: KeyValueStore = {
    get: <T>(key: string) => state.get(key) as T | undefined,
    update: async (key, value) => void state.set(key, value),
  };
  const log = (line: string) => void logLines.push(line);
  // The extension's wiring: clarive.caCertificate read at each request.
  const transport = new Transport({ caCertificate: () => settingsState.caCertificate });
  const session = new Session(
    secrets,
    async (key, value) => void contextKeys.set(key, value),
    {
      log,
      fetch: transport.fetch,
      caFile: () => transport.caFile(),
    },
    options.windowState,
  );
  const repositories: FakeRepository[] = [];
  let tokens: TokenDto[] = [];
  const git: GitApi = {
    get repositories() {
      return repositories.map((r) => r.asRepository());
    },
    onDidOpenRepository: () => ({ dispose() {} }),
    registerCredentialsProvider: () => ({ dispose() {} }),
  };
  const deps: CommandDeps = {
    ui: () => ui,
    session,
    settings,
    clipboard: { writeText: async (text) => void clipboard.push(text) },
    credentials: new GitCredentialStore(secrets),
    log,
    refreshTokens: async () => {
      tokens = session.signedIn ? await session.signedIn.client.tokens() : [];
    },
    cachedTokens: () => tokens,
    gitApi: async () => git,
    gitConfig: (folder) => {
      const repository = repositories.find((r) => r.fsPath === folder);
      if (!repository) throw new Error(`no fake repository at ${folder}`);
      return repository.localConfig();
    },
    caFile: () => transport.caFile(),
    caTrust: new CaTrustRecords(globalState),
    terminalAuthenticationEnabled: () => true,
    now: () => new Date(),
  };
  return { deps, ui, secrets, clipboard, logLines, settings: settingsState, state, contextKeys, repositories };
}
