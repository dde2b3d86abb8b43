/**
 * The LISTEN/NOTIFY channels every instance listens on, named once for the listener and for
 * the triggers of the migrations. Renaming one needs a migration that recreates the trigger
 * functions sending on it.
 */

/** A change to anything a git auth decision reads (tokens, users, repositories, memberships, settings). */
export const AUTH_CHANNEL = "clarive_auth";
/** A failed-login counter changed: the row's new state, so every instance mirrors it. */
export const THROTTLE_CHANNEL = "clarive_throttle";
/** Instances talking to each other: heartbeats, and the pings and acks of a revocation barrier. */
export const INSTANCE_CHANNEL = "clarive_instances";

export const ALL_CHANNELS = [AUTH_CHANNEL, THROTTLE_CHANNEL, INSTANCE_CHANNEL];
