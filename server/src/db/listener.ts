import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface NotificationHandlers {
  /** Called in the order the notifying transactions committed. */
  onNotification(channel: string, payload: string): void;
  /**
   * false when the listening connection dropped (notifications may have been missed), true
   * once listening again. A connection that stays open but delivers nothing is not seen
   * here: the change feed's heartbeat finds it (gitAccess/changeFeed.ts).
   */
  onConnectionChange(connected: boolean): void;
}

export interface Listener {
  /**
   * Drops the listening connection at once, without a goodbye the server may never answer
   * (a silent connection), and opens a new one.
   */
  reconnect(): void;
  close(): Promise<void>;
}

/** LISTEN on a dedicated Postgres connection, reconnecting with backoff when it drops. */
export async function listenPostgres(connectionString: string, channels: string[], handlers: NotificationHandlers): Promise<Listener> {
  let client: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = 100;

  const connect = async (): Promise<void> => {
    // TCP keepalive finds a peer that is gone for good; the heartbeat finds one that hangs.
    const next = new pg.Client({ connectionString, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    next.on("notification", (message) => {
      if (client === next) handlers.onNotification(message.channel, message.payload ?? "");
    });
    next.on("error", () => undefined); // 'end' follows and drives the reconnection
    next.on("end", () => {
      if (client !== next || closed) return;
      drop();
      scheduleReconnect();
    });
    // A server that accepts the connection but never answers must not stall reconnection.
    const deadline = setTimeout(() => destroy(next), 5000);
    try {
      await next.connect();
      for (const channel of channels) await next.query(`LISTEN ${pg.Client.prototype.escapeIdentifier(channel)}`);
    } catch (error) {
      destroy(next);
      throw error;
    } finally {
      clearTimeout(deadline);
    }
    if (closed) {
      destroy(next);
      return;
    }
    client = next;
    delay = 100;
    handlers.onConnectionChange(true);
  };

  const drop = () => {
    const current = client;
    client = undefined;
    if (current) {
      destroy(current);
      handlers.onConnectionChange(false);
    }
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().catch(() => {
        delay = Math.min(delay * 2, 5000);
        scheduleReconnect();
      });
    }, delay);
  };

  await connect();
  return {
    reconnect: () => {
      if (closed) return;
      drop();
      scheduleReconnect();
    },
    close: async () => {
      closed = true;
      clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      // end() waits for the server's goodbye, which a hung server never sends.
      if (current) await Promise.race([current.end().catch(() => undefined), sleep(1000)]).then(() => destroy(current));
    },
  };
}

function destroy(client: pg.Client): void {
  // pg has no public way to drop a connection without the Terminate handshake.
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Embedded PGlite is this process: its notifications cannot be missed nor hang. */
export async function listenPglite(pglite: PGlite, channels: string[], handlers: NotificationHandlers): Promise<Listener> {
  const unsubscribes = await Promise.all(
    channels.map((channel) => pglite.listen(channel, (payload) => handlers.onNotification(channel, payload))),
  );
  handlers.onConnectionChange(true);
  return {
    reconnect: () => undefined,
    close: async () => {
      await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe().catch(() => undefined)));
    },
  };
}
