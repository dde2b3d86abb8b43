import { generateApiKey, isWellFormedApiKey, PAT_PREFIX, redactSecrets, type LoginRequest } from "@clarive/shared";
import type { Knex } from "knex";
import { TooManyRequestsError, UnauthenticatedError } from "../errors";
import type { LoginThrottle } from "../gitAccess/loginThrottle";
import { loginThrottleKeys, retryAfterSeconds } from "../gitAccess/throttlePolicy";
import { sha256Hex } from "../lib/hash";
import { hashPassword, verifyPassword } from "../lib/password";
import { deleteApiKey, findUserByApiKeyHash, insertApiKey, touchApiKey } from "../repositories/apiKeys";
import type { Queryable, UserRow } from "../repositories/types";
import { findUserByUsername } from "../repositories/users";
import { audit } from "./audit";
import type { Actor, RequestMeta } from "./types";

// Verifying against a real hash when the user does not exist keeps the response time
// from telling which usernames exist.
let decoyHash: Promise<string> | undefined;

async function passwordMatches(user: UserRow | undefined, password: string): Promise<boolean> {
  if (!user) {
    decoyHash ??= hashPassword("decoy password that no account has");
    await verifyPassword(await decoyHash, password);
    return false;
  }
  return verifyPassword(user.password_hash, password);
}

export interface AuthenticatedCaller extends Actor {
  apiKeyId: number;
}

// Postgres text cannot hold NUL, and no audit reader wants the rest.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

/**
 * Throttled by the same counters and policy as git's Basic auth (gitAccess/throttlePolicy.ts):
 * per username at the client's address, and per address; a block answers 429 with Retry-After
 * before the password is even checked, and another address still logs in.
 */
export async function login(
  db: Knex,
  input: LoginRequest,
  meta: RequestMeta,
  throttle: LoginThrottle,
  now: number,
): Promise<{ apiKey: string; user: UserRow }> {
  // A token or key typed as the username must not be stored whole in the audit trail or a counter's key.
  const givenName = redactSecrets(input.username).replace(CONTROL, "\uFFFD");
  const keys = loginThrottleKeys(givenName, meta.ip);
  const states = await throttle.states(keys);
  const retryAfter = retryAfterSeconds(states, now);
  if (retryAfter !== null) throw new TooManyRequestsError("Too many failed logins; try again later", retryAfter);
  const user = await findUserByUsername(db, input.username);
  const ok = (await passwordMatches(user, input.password)) && user?.active === true;
  if (!ok || !user) {
    const actor = user ? { id: user.id, username: user.username } : { id: null, username: givenName };
    const counted = await db.transaction(async (trx) => {
      await audit(trx, actor, "login.failed", null, meta);
      return throttle.count(trx, keys);
    });
    throttle.noteCounted(counted);
    throw new UnauthenticatedError("Wrong username or password", "invalid_credentials");
  }
  await throttle.succeeded(keys, states);
  const apiKey = generateApiKey();
  await db.transaction(async (trx) => {
    await insertApiKey(trx, { user_id: user.id, label: input.label ?? "API key", key_hash: sha256Hex(apiKey) });
    await audit(trx, { id: user.id, username: user.username }, "login.succeeded", null, meta, {
      label: input.label ?? null,
    });
  });
  return { apiKey, user };
}

/** Resolves `Authorization: Bearer <API key>` to its user; every refusal is a 401 with a reason. */
export async function authenticateApiKey(db: Queryable, authorization: string | undefined): Promise<AuthenticatedCaller> {
  if (!authorization) throw new UnauthenticatedError();
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) {
    throw new UnauthenticatedError("Malformed Authorization header: expected 'Bearer <API key>'", "invalid_authorization");
  }
  const secret = match[1];
  if (secret.startsWith(PAT_PREFIX)) {
    throw new UnauthenticatedError(
      "Personal access tokens are for git over HTTP only; the REST API takes an API key from POST /api/v1/auth/login",
      "pat_not_accepted",
    );
  }
  if (!isWellFormedApiKey(secret)) throw new UnauthenticatedError("Invalid API key", "invalid_api_key");
  const row = await findUserByApiKeyHash(db, sha256Hex(secret));
  if (!row || !row.active) throw new UnauthenticatedError("Invalid API key", "invalid_api_key");
  await touchApiKey(db, row.api_key_id, new Date());
  return { id: row.id, username: row.username, isAdmin: row.is_admin, apiKeyId: row.api_key_id };
}

export async function logout(db: Queryable, caller: AuthenticatedCaller, meta: RequestMeta): Promise<void> {
  await db.transaction(async (trx) => {
    await deleteApiKey(trx, caller.apiKeyId);
    await audit(trx, caller, "logout", null, meta);
  });
}
