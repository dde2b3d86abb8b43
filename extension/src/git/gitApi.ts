/**
 * The part of the built-in `vscode.git` extension's API (its git.d.ts, version 1) this extension
 * uses. Declared here rather than copied whole, so what we depend on is visible at a glance.
 */
import type { Disposable, Event, ProviderResult, Uri } from "vscode";

export interface Remote {
  readonly name: string;
  readonly fetchUrl?: string;
  readonly pushUrl?: string;
  readonly isReadOnly: boolean;
}

export interface Branch {
  readonly name?: string;
  readonly upstream?: { readonly remote: string; readonly name: string };
}

export interface RepositoryState {
  readonly HEAD: Branch | undefined;
  readonly remotes: Remote[];
  readonly onDidChange: Event<void>;
}

export interface Repository {
  readonly rootUri: Uri;
  readonly state: RepositoryState;
  getConfig(key: string): Promise<string>;
  setConfig(key: string, value: string): Promise<string>;
  addRemote(name: string, url: string): Promise<void>;
  removeRemote(name: string): Promise<void>;
  fetch(remote?: string, ref?: string, depth?: number): Promise<void>;
  push(remoteName?: string, branchName?: string, setUpstream?: boolean): Promise<void>;
  status(): Promise<void>;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface CredentialsProvider {
  getCredentials(host: Uri): ProviderResult<Credentials>;
}

export interface GitApi {
  /** The git executable the extension runs. */
  readonly git?: { readonly path: string };
  readonly repositories: Repository[];
  readonly onDidOpenRepository: Event<Repository>;
  registerCredentialsProvider(provider: CredentialsProvider): Disposable;
  openRepository?(root: Uri): Promise<Repository | null>;
}

export interface GitExtension {
  readonly enabled: boolean;
  getAPI(version: 1): GitApi;
}
