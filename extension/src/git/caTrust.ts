/**
 * Which repositories Configure Git Remote told to trust a CA file (`http.<server>/.sslCAInfo` in
 * their own config), kept in the extension's global state, so Remove Git Credentials (and a later
 * Configure Git Remote without a CA) removes only what this extension wrote.
 */
import type { KeyValueStore } from "../ui/stores";

export const CA_TRUST_STATE_KEY = "clarive.gitCaTrust";

export interface CaTrustRecord {
  /** The repository's root folder. */
  folder: string;
  serverUrl: string;
  key: string;
  /** The CA file written. */
  value: string;
}

function isRecord(value: unknown): value is CaTrustRecord {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return ["folder", "serverUrl", "key", "value"].every((field) => typeof entry[field] === "string");
}

export class CaTrustRecords {
  constructor(private readonly state: KeyValueStore) {}

  all(): CaTrustRecord[] {
    const stored = this.state.get<unknown>(CA_TRUST_STATE_KEY);
    return Array.isArray(stored) ? stored.filter(isRecord) : [];
  }

  find(folder: string, key: string): CaTrustRecord | undefined {
    return this.all().find((record) => record.folder === folder && record.key === key);
  }

  async add(record: CaTrustRecord): Promise<void> {
    await this.state.update(CA_TRUST_STATE_KEY, [...this.others(record.folder, record.key), record]);
  }

  async remove(folder: string, key: string): Promise<void> {
    await this.state.update(CA_TRUST_STATE_KEY, this.others(folder, key));
  }

  private others(folder: string, key: string): CaTrustRecord[] {
    return this.all().filter((record) => record.folder !== folder || record.key !== key);
  }
}
