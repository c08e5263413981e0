import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { consoleApiTypes, SCHEMA_FILE } from "./console-api";

describe("the console's generated API types", () => {
  it("match the API the edge serves (run `npm run console:api` after changing a route)", async () => {
    const committed = await readFile(SCHEMA_FILE, "utf8");
    expect(committed === (await consoleApiTypes()), "workers/console/src/api/schema.d.ts is stale: run npm run console:api").toBe(true);
  }, 30_000);
});
