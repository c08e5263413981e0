import pg from "pg";

/** How often the local stack analyses a database that has no autovacuum: often enough to follow a benchmark's growth. */
export const ANALYZE_EVERY_MS = 30_000;

export interface StatisticsKeeper {
  /** Whether this database gets the stack's `ANALYZE` (it has no autovacuum of its own). */
  readonly active: boolean;
  /** Settles once the first `ANALYZE` has finished (at once when inactive); never rejects. */
  readonly first: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Does for the local stack's database what autovacuum's analyze does for a managed one (Aurora,
 * Neon, any PostgreSQL with its defaults): keeps the planner's statistics current. PGlite runs
 * PostgreSQL in single-user mode, with no background workers, so its tables are never analysed;
 * a PostgreSQL server can have `autovacuum = off` (this machine's has). Without statistics the
 * planner guesses, and guessed wrong for the turn's context read: it scanned every message of the
 * tenant instead of the conversation's (17 ms instead of 1 ms at 14,000 messages, and growing
 * with the tenant; docs/performance.md).
 *
 * Runs `ANALYZE` on its own short connection at once; on a PostgreSQL server also every `everyMs`
 * while the stack runs (a server that is down, a chaos run's outage, is skipped until the next
 * round). On PGlite only at start, before anything else connects (the caller awaits `first`):
 * pglite-socket runs every connection's protocol messages in one shared session, one message at a
 * time, so a second connection's statement can land between another's Parse and Bind outside a
 * transaction; a periodic `ANALYZE` from its own connection stalled a chaos run's pool for good.
 * A long-lived PGlite data directory (`npm start`) gets fresh statistics at each start.
 */
export function keepStatisticsFresh(url: string, options: { kind: "pglite" | "postgres"; everyMs?: number }): StatisticsKeeper {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const withClient = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {}); // a dropped connection fails the query below
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => {});
    }
  };
  // Failures are not reported: the next round tries again, and the stack's own checks report a database that stays down.
  const analyze = () =>
    withClient((client) => client.query("analyze")).then(
      () => {},
      () => {},
    );
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = analyze().finally(schedule);
    }, options.everyMs ?? ANALYZE_EVERY_MS);
    timer.unref();
  };
  // A server that cannot be asked (down at this moment) is taken to have its own autovacuum.
  const needed =
    options.kind === "pglite"
      ? Promise.resolve(true)
      : withClient(
          async (client) =>
            (await client.query<{ on: boolean }>("select current_setting('autovacuum') = 'on' as on")).rows[0]?.on === false,
        ).catch(() => false);
  const keeper = {
    active: false,
    first: needed.then(async (active) => {
      keeper.active = active;
      if (!active || stopped) return;
      running = analyze();
      await running;
      if (options.kind === "postgres") schedule();
    }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await keeper.first;
      await running;
    },
  };
  return keeper;
}
