import { defineConfig } from "drizzle-kit";

/** `npm run db:generate` diffs db/schema against the last snapshot and writes db/migrations. */
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema/index.ts",
  out: "./db/migrations",
  strict: true,
  verbose: true,
});
