import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

/** The committed migrations, next to this file whatever the working directory. */
export const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

/**
 * Brings a database up to the committed migrations. Needs the owner/admin connection (it creates
 * tables and the `agent_app` role); the application never runs it. Already-applied migrations are
 * skipped (drizzle records them in `drizzle.__drizzle_migrations`), so calling it twice is safe.
 * Without a URL, node-postgres reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE.
 */
export async function migrateDatabase(adminUrl: string | undefined): Promise<void> {
  // One connection: the migrator runs everything in one transaction anyway.
  const client = new pg.Client({ connectionString: adminUrl, application_name: "agent-platform-migrate" });
  await client.connect();
  try {
    // Silence NOTICEs such as "schema drizzle already exists, skipping" on reruns.
    await client.query("set client_min_messages = warning");
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.end();
  }
}
