import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPool, type PoolBuild } from "./build";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * The Dockerfile's instructions as `[instruction, arguments]`, one per logical line (backslash
 * continuations joined, comments dropped). Hand-written: the checks below need only this, and the
 * file is ours.
 */
async function dockerfile(): Promise<Array<[string, string]>> {
  const text = (await readFile(join(ROOT, "Dockerfile"), "utf8")).replace(/\\\n/g, " ");
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [instruction, ...rest] = line.split(/\s+/);
      return [instruction!.toUpperCase(), rest.join(" ")];
    });
}

describe("the pool's production build and image", () => {
  let build: PoolBuild;
  let outdir: string;

  beforeAll(async () => {
    const cache = join(ROOT, "node_modules", ".cache");
    await mkdir(cache, { recursive: true });
    outdir = await mkdtemp(join(cache, "pool-build-unit-"));
    build = await buildPool(outdir);
  });
  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  it("bundles only the project's runtime code: no test fakes, no local stack, no console", () => {
    expect(build.sources).toContain("workers/pool/main.ts");
    expect(build.sources).toContain("scripts/migrate.ts");
    expect(build.sources.filter((file) => /^test\/|^scripts\/(?!migrate\.ts)|^workers\/(edge|console)\//.test(file))).toEqual([]);
  });

  it("copies into the image's build stage every source file the bundle is built from", async () => {
    const instructions = await dockerfile();
    const buildStage = instructions.slice(
      instructions.findIndex(([name, args]) => name === "FROM" && / AS build$/i.test(args)),
      instructions.findIndex(([name, args]) => name === "FROM" && / AS dependencies$/i.test(args)),
    );
    // `COPY a b ./dest/`: every argument but the last is a source.
    const copied = buildStage.filter(([name]) => name === "COPY").flatMap(([, args]) => args.split(/\s+/).slice(0, -1));
    const missing = build.sources.filter(
      (file) => !copied.some((source) => file === source || file.startsWith(`${source.replace(/\/$/, "")}/`)),
    );
    expect(missing).toEqual([]);
  });

  it("runs the build's output on Node 22 as an unprivileged user, with production dependencies only and a health check", async () => {
    const instructions = await dockerfile();
    const stages = instructions.filter(([name]) => name === "FROM").map(([, args]) => args);
    expect(stages).toEqual(["${NODE_IMAGE} AS build", "${NODE_IMAGE} AS dependencies", "${NODE_IMAGE}"]);
    expect(instructions).toContainEqual(["ARG", "NODE_IMAGE=node:22-slim"]);
    const final = instructions.slice(instructions.findLastIndex(([name]) => name === "FROM"));
    expect(final.filter(([name]) => name === "USER")).toEqual([["USER", "node"]]);
    expect(final.some(([name, args]) => name === "HEALTHCHECK" && args.includes("/healthz"))).toBe(true);
    expect(final.find(([name]) => name === "CMD")?.[1]).toBe('["node", "--enable-source-maps", "dist/pool.js"]');
    expect(final.filter(([name]) => name === "COPY").map(([, args]) => args)).toEqual([
      "--from=dependencies /app/node_modules ./node_modules",
      "--from=build /app/dist ./dist",
      "package.json ./",
    ]);
    expect(instructions).toContainEqual(["RUN", "npm ci --omit=dev --no-audit --no-fund && npm cache clean --force"]);
  });
});
