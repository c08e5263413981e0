import pg from "pg";

/**
 * A database outage on a shared PostgreSQL server without restarting it (other databases on the
 * server, say other test runs, keep working): refuse new connections to one database and end the
 * ones it has, as a restart would. `endOutage` lets connections in again.
 * The statements run from `template1`, so this also works on a database named `postgres`.
 */
export async function beginOutage(adminUrl: string): Promise<void> {
  const name = databaseName(adminUrl);
  await onMaintenanceDatabase(adminUrl, async (client) => {
    await client.query(`alter database ${pg.escapeIdentifier(name)} with allow_connections false`);
    await client.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [name]);
  });
}

export async function endOutage(adminUrl: string): Promise<void> {
  await onMaintenanceDatabase(adminUrl, (client) =>
    client.query(`alter database ${pg.escapeIdentifier(databaseName(adminUrl))} with allow_connections true`),
  );
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || "postgres";
}

async function onMaintenanceDatabase<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(adminUrl);
  url.pathname = "/template1";
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
