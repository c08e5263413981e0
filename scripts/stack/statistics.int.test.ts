import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database";
import { freePort } from "./ports";
import { keepStatisticsFresh, type StatisticsKeeper } from "./statistics";

/** The planner's row count for `t` (-1: never analysed). */
async function plannerRows(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query("select reltuples from pg_class where relname = 't'")).rows[0].reltuples);
  } finally {
    await client.end();
  }
}

async function run(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

describe.each([["pglite" as const], ["postgres" as const]])("keepStatisticsFresh on %s", (kind) => {
  let database: TestDatabase;
  let keeper: StatisticsKeeper | undefined;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false, ...(kind === "postgres" ? { engine: "postgres" } : {}) });
    await run(database.adminUrl, "create table t (a int); insert into t select generate_series(1, 1000)");
  });
  afterEach(() => keeper?.stop());
  afterAll(() => database?.close());

  it("analyses at once, and on a server again while the stack runs, where nothing else would", async () => {
    expect(await plannerRows(database.adminUrl)).toBe(-1);
    const autovacuum = await (async () => {
      const client = new pg.Client({ connectionString: database.adminUrl });
      await client.connect();
      const { rows } = await client.query("show autovacuum");
      await client.end();
      return rows[0].autovacuum as string;
    })();
    keeper = keepStatisticsFresh(database.adminUrl, { kind, everyMs: 20 });
    await keeper.first;
    // PGlite has no autovacuum whatever it reports; a server has it unless switched off.
    const expected = kind === "pglite" || autovacuum === "off";
    expect(keeper.active).toBe(expected);
    if (!expected) return; // a server with autovacuum: the stack leaves its statistics to it
    expect(await plannerRows(database.adminUrl)).toBe(1000);
    if (kind === "pglite") return; // only at start on PGlite: the next test checks that no round is scheduled
    await run(database.adminUrl, "insert into t select generate_series(1, 500)");
    await vi.waitFor(async () => expect(await plannerRows(database.adminUrl)).toBe(1500), { timeout: 10_000, interval: 20 });
  });

  it("stops: nothing left scheduled once stop() settles", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      keeper = keepStatisticsFresh(database.adminUrl, { kind, everyMs: 20 });
      await keeper.first;
      expect(vi.getTimerCount()).toBe(keeper.active && kind === "postgres" ? 1 : 0); // the next round
      await keeper.stop();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("keepStatisticsFresh with the database down", () => {
  it("settles without throwing: a server it cannot ask is left alone, PGlite is tried again next round", async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/none`;
    const server = keepStatisticsFresh(url, { kind: "postgres", everyMs: 20 });
    await server.first;
    expect(server.active).toBe(false);
    await server.stop();
    const embedded = keepStatisticsFresh(url, { kind: "pglite", everyMs: 20 });
    await embedded.first;
    expect(embedded.active).toBe(true);
    await embedded.stop();
  });
});
