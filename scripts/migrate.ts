/**
 * `npm run migrate` (sources) and `node dist/migrate.js` (the production build): brings the database
 * in DATABASE_ADMIN_URL (else DATABASE_URL, else the PG* variables, as the ECS migration task passes
 * them from the cluster's secret) up to the committed migrations. It needs the owner connection (it
 * creates tables and the `agent_app` role), so in production it runs as its own step before a new
 * pool version starts, never inside the pool.
 */
import { migrateDatabase, migrationsFolder } from "../db/migrate";

const url = process.env.DATABASE_ADMIN_URL || process.env.DATABASE_URL || undefined;
if (!url && !process.env.PGHOST) {
  console.error(
    "migrate: set DATABASE_ADMIN_URL (or DATABASE_URL, or PGHOST, PGUSER, PGPASSWORD, PGDATABASE) to the database owner's connection",
  );
  process.exit(2);
}
try {
  await migrateDatabase(url);
  console.log(`migrate: up to date with ${migrationsFolder}`);
} catch (error) {
  console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
