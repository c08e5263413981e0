import { defineConfig } from "vitest/config";

/** The machine's PostgreSQL (trust auth), which the `int` project's set-up starts when it is down. */
const DATABASE_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * Three projects in one run, so CI ends with one summary:
 * - unit: `*.test.ts`, no outside parts.
 * - int: `*.int.test.ts`, real local parts: the PostgreSQL server in DATABASE_URL, by default the
 *   machine's at 127.0.0.1:5432; `test/setup/prerequisites.ts` first obtains what these tests need
 *   beyond npm packages (Chromium, promtool, a running PostgreSQL) or stops with the command to run.
 * - db-pglite: the database tests (and the demo seed's) again on embedded PGlite, whatever DATABASE_URL says, except
 *   db/postgres.int.test.ts, which always needs a real PostgreSQL server (DATABASE_URL or 127.0.0.1:5432).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{core,db,workers,scripts,test,ops}/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "node_modules/**"],
        },
      },
      {
        test: {
          name: "int",
          include: ["{core,db,workers,scripts,test}/**/*.int.test.ts"],
          exclude: ["node_modules/**"],
          globalSetup: ["test/setup/prerequisites.ts"],
          env: { DATABASE_URL },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "db-pglite",
          include: ["db/**/*.int.test.ts", "scripts/seed.int.test.ts"],
          exclude: ["node_modules/**", "db/postgres.int.test.ts"], // always a real PostgreSQL server
          env: { TEST_DATABASE: "pglite" },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
