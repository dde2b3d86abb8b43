import type { Knex } from "knex";

/** A connection or a transaction: repository functions take whichever the caller holds. */
export type Queryable = Knex | Knex.Transaction;

export interface UserRow {
  id: number;
  username: string;
  password_hash: string;
  is_admin: boolean;
  active: boolean;
  created_at: Date;
}

export interface RepositoryRow {
  id: number;
  project_id: number;
  project: string;
  name: string;
  pat_access: "inherit" | "true" | "false";
  push_protection: "inherit" | "true" | "false";
  created_at: Date;
}

export interface TokenRow {
  id: number;
  user_id: number;
  description: string;
  permission: "read" | "read-write";
  all_repositories: boolean;
  token_hash: string;
  token_hint: string;
  active: boolean;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
  last_used_ip: string | null;
  lifetime_seconds: number | null;
  rotated_at: Date | null;
  reuse_detected_at: Date | null;
  /** IPv4/IPv6 addresses and CIDR ranges in normal form; empty = anywhere (gitAccess/ipAllowList.ts). */
  allowed_ips: string[];
}

export interface AuditRow {
  id: number;
  actor_id: number | null;
  actor_name: string | null;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
  created_at: Date;
}
