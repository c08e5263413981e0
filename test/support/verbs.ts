import { afterAll, beforeAll } from "vitest";
import { createPoolDb, type Database } from "../../db/client";
import { createTestDatabase, type TestDatabase } from "./database";

/**
 * A test file's database: created before its tests, closed after them; `admin` bypasses row-level
 * security (fixtures, checks), `app` is the application role the verbs and jobs run as.
 */
export function useTestDatabase(): { readonly admin: Database; readonly app: Database } {
  let database: TestDatabase;
  let admin: ReturnType<typeof createPoolDb>;
  let app: ReturnType<typeof createPoolDb>;
  beforeAll(async () => {
    database = await createTestDatabase();
    admin = createPoolDb(database.adminUrl, { max: 1 });
    app = createPoolDb(database.appUrl, { max: 2 });
  });
  afterAll(async () => {
    await app?.close();
    await admin?.close();
    await database?.close();
  });
  return {
    get admin() {
      return admin.db;
    },
    get app() {
      return app.db;
    },
  };
}

export { runAsMember } from "./as-member";
