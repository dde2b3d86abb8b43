import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface NotificationHandlers {
  onNotification(channel: string, payload: string): void;
  /**
   * Called with false when notifications may have been missed (the listening connection
   * dropped) and with true once listening again; caches must not be trusted in between.
   */
  onHealthChange(healthy: boolean): void;
}

export interface Listener {
  close(): Promise<void>;
}

/** LISTEN on a dedicated Postgres connection, reconnecting with backoff when it drops. */
export async function listenPostgres(
  connectionString: string,
  channels: string[],
  handlers: NotificationHandlers,
): Promise<Listener> {
  let client: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = 100;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString });
    next.on("notification", (message) => handlers.onNotification(message.channel, message.payload ?? ""));
    next.on("error", () => undefined); // 'end' follows and drives the reconnection
    next.on("end", () => {
      if (client !== next || closed) return;
      client = undefined;
      handlers.onHealthChange(false);
      scheduleReconnect();
    });
    await next.connect();
    for (const channel of channels) await next.query(`LISTEN ${pg.Client.prototype.escapeIdentifier(channel)}`);
    client = next;
    delay = 100;
    handlers.onHealthChange(true);
  };

  const scheduleReconnect = () => {
    if (closed) return;
    retryTimer = setTimeout(() => {
      connect().catch(() => {
        delay = Math.min(delay * 2, 5000);
        scheduleReconnect();
      });
    }, delay);
  };

  await connect();
  return {
    close: async () => {
      closed = true;
      clearTimeout(retryTimer);
      await client?.end().catch(() => undefined);
    },
  };
}

/** Embedded PGlite is one process: its notifications cannot be missed. */
export async function listenPglite(pglite: PGlite, channels: string[], handlers: NotificationHandlers): Promise<Listener> {
  const unsubscribes = await Promise.all(
    channels.map((channel) => pglite.listen(channel, (payload) => handlers.onNotification(channel, payload))),
  );
  handlers.onHealthChange(true);
  return {
    close: async () => {
      await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe().catch(() => undefined)));
    },
  };
}
