/** The pieces of editor state the core logic needs, as small interfaces (vscode implements them). */

/** `context.secrets`. */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** `vscode.env.clipboard`. */
export interface Clipboard {
  writeText(text: string): PromiseLike<void>;
}

/** Context keys for `when` clauses (`setContext`). */
export type SetContext = (key: string, value: boolean) => PromiseLike<unknown>;

/** `context.globalState`: small non-secret records kept across sessions. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

export interface ExtensionSettings {
  serverUrl(): string;
  setServerUrl(url: string): PromiseLike<void>;
  expiryWarningDays(): number;
  useGitCredentialsProvider(): boolean;
  /** `clarive.caCertificate` as written (path resolution and `~` are the transport's). */
  caCertificate(): string;
}
