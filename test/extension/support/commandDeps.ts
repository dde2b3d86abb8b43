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

/** Records what Configure Git Remote does to a repository, instead of running git. */
export class FakeRepository {
  remotes: Remote[] = [];
  readonly config = new Map<string, string>();

  constructor(readonly fsPath: string) {}

  /** What `git config --local` at this folder does: one value per key. */
  localConfig(): LocalGitConfig {
    return {
      getAll: async (key) => (this.config.has(key) ? [this.config.get(key) ?? ""] : []),
      set: async (key, value) => {
        this.config.set(key, value);
        const remote = /^remote\.(.+)\.url$/.exec(key);
        if (remote) this.remotes = this.remotes.map((r) => (r.name === remote[1] ? { ...r, fetchUrl: value, pushUrl: value } : r));
      },
      unset: async (key) => this.config.delete(key),
    };
  }

  asRepository(): Repository {
    // Only the members the extension uses; the Uri and event are shaped as far as it reads them.
    const remotes = () => this.remotes;
    return {
      rootUri: { fsPath: this.fsPath } as Repository["rootUri"],
      state: {
        HEAD: undefined,
        get remotes() {
          return remotes();
        },
        onDidChange: () => ({ dispose() {} }),
      },
      getConfig: async (key) => this.config.get(key) ?? "",
      setConfig: async (key, value) => {
        this.config.set(key, value);
        const remote = /^remote\.(.+)\.url$/.exec(key);
        if (remote) this.remotes = this.remotes.map((r) => (r.name === remote[1] ? { ...r, fetchUrl: value, pushUrl: value } : r));
        return "";
      },
      addRemote: async (name, url) => {
        this.remotes = [...this.remotes, { name, fetchUrl: url, pushUrl: url, isReadOnly: false }];
      },
      removeRemote: async (name) => {
        this.remotes = this.remotes.filter((r) => r.name !== name);
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

export function testDeps(): TestDeps {
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
  const session = new Session(secrets, async (key, value) => void contextKeys.set(key, value), {
    log,
    fetch: transport.fetch,
    caFile: () => transport.caFile(),
  });
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
