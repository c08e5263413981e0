import { randomBytes } from "node:crypto";
import pg from "pg";
import { createPoolDb } from "../../db/client";
import { buildTenantGraph, insertTenantGraph, type TenantGraph } from "../../db/fixtures";
import { startPgliteServer } from "../../db/local/pglite-server";
import { migrateDatabase } from "../../db/migrate";

export interface TestDatabase {
  /** Owner connection: migrations, seeds, assertions that must see every tenant. */
  adminUrl: string;
  /** What the application uses: `agent_app` on PostgreSQL; the same as adminUrl on PGlite. */
  appUrl: string;
  /** Which engine is underneath, for the rare test that must know. */
  kind: "postgres" | "pglite";
  /** Drops the database (PostgreSQL) or stops the embedded server (PGlite). */
  close(): Promise<void>;
}

/** The server `engine: "postgres"` uses when `DATABASE_URL` is unset: the machine's PostgreSQL, trust auth. */
export const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface CreateTestDatabaseOptions {
  /**
   * `"postgres"`: always a real PostgreSQL server (`DATABASE_URL`, else {@link DEFAULT_POSTGRES_URL}),
   * failing with a hint to start it when unreachable. Omitted: chosen from the environment (see below).
   */
  engine?: "postgres";
  /** False: an empty database with no migrations run (a restore's target). Default true. */
  migrate?: boolean;
}

/**
 * A fresh, migrated database for one test file, so tests never share state. With `DATABASE_URL`
 * set (and `TEST_DATABASE` not `pglite`) it creates a uniquely named database on that server;
 * otherwise it starts an in-memory PGlite on a free loopback port. Tests make their own tenants.
 * `{ engine: "postgres" }` always uses a PostgreSQL server, for tests PGlite cannot stand in for.
 *
 * On PGlite every connection is the superuser; `withTenant` still applies RLS by switching to
 * `agent_app` for the transaction.
 *
 * @example
 * let database: TestDatabase;
 * beforeAll(async () => { database = await createTestDatabase(); });
 * afterAll(() => database.close());
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  if (options.engine === "postgres") return createOnServer(await requirePostgres(), options.migrate ?? true);
  const serverUrl = process.env.DATABASE_URL;
  if (process.env.TEST_DATABASE !== "pglite" && serverUrl) return createOnServer(serverUrl, options.migrate ?? true);
  return createOnPglite(options.migrate ?? true);
}

/** A test database with two tenants in it, and pools as its owner and as the application. */
export interface TwoTenantDatabase {
  /** The database itself (its URLs, for a test's own extra pool). */
  database: TestDatabase;
  /** Owner pool (one connection): fixtures, and assertions that must see every tenant. */
  admin: ReturnType<typeof createPoolDb>;
  /** The application's pool (two connections), under row-level security through `withTenant`. */
  app: ReturnType<typeof createPoolDb>;
  a: TenantGraph;
  b: TenantGraph;
  /** Closes both pools, then the database. */
  close(): Promise<void>;
}

/**
 * {@link createTestDatabase} with two tenants' fixture graphs inserted by the owner: the set-up of
 * the files that check one tenant against another.
 *
 * @example
 * let admin: TwoTenantDatabase["admin"], app: TwoTenantDatabase["app"], a: TenantGraph, b: TenantGraph;
 * let twoTenants: TwoTenantDatabase;
 * beforeAll(async () => ({ admin, app, a, b } = twoTenants = await createTwoTenantDatabase()));
 * afterAll(() => twoTenants?.close());
 */
export async function createTwoTenantDatabase(): Promise<TwoTenantDatabase> {
  const database = await createTestDatabase();
  const admin = createPoolDb(database.adminUrl, { max: 1 });
  const app = createPoolDb(database.appUrl, { max: 2 });
  const [a, b] = [buildTenantGraph(), buildTenantGraph()];
  await insertTenantGraph(admin.db, a);
  await insertTenantGraph(admin.db, b);
  return {
    database,
    admin,
    app,
    a,
    b,
    close: async () => {
      await app.close();
      await admin.close();
      await database.close();
    },
  };
}

/**
 * The PostgreSQL server for tests that need a real one: `url`, else `DATABASE_URL`, else
 * {@link DEFAULT_POSTGRES_URL}. Connects once and throws, saying how to start the machine's
 * PostgreSQL, when it cannot, so such tests fail rather than skip.
 */
export async function requirePostgres(url = process.env.DATABASE_URL || DEFAULT_POSTGRES_URL): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    const where = new URL(url);
    where.password = "";
    throw new Error(
      `PostgreSQL is unreachable at ${where.toString()} (${(error as Error).message || String(error)}). ` +
        "These tests need a real PostgreSQL server; start the machine's one with: " +
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return url;
}

async function createOnPglite(migrate: boolean): Promise<TestDatabase> {
  const server = await startPgliteServer({ host: "127.0.0.1", port: 0 });
  try {
    if (migrate) await migrateDatabase(server.url);
  } catch (error) {
    await server.close();
    throw error;
  }
  return { adminUrl: server.url, appUrl: server.url, kind: "pglite", close: () => server.close() };
}

async function createOnServer(serverUrl: string, migrate: boolean): Promise<TestDatabase> {
  const name = `test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await withAdmin(serverUrl, (client) => client.query(`create database "${name}"`));
  const adminUrl = withDatabase(serverUrl, name);
  const dropDatabase = () =>
    withAdmin(serverUrl, async (client) => {
      await client.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [name]);
      await client.query(`drop database if exists "${name}" with (force)`);
    });
  try {
    if (migrate) await migrateDatabase(adminUrl);
  } catch (error) {
    await dropDatabase();
    throw error;
  }
  const app = new URL(adminUrl);
  app.username = "agent_app";
  app.password = "";
  return { adminUrl, appUrl: app.toString(), kind: "postgres", close: dropDatabase };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
