/**
 * `npm run build`: the pool's production build. esbuild bundles the project's own code (the pool
 * and the migration step) into `dist/`, with source maps; npm packages stay external, installed in
 * the image with `npm ci --omit=dev` (the Dockerfile), so native and WebAssembly parts load as
 * they do from sources. The committed migrations are copied beside `dist/migrate.js`.
 *
 * Entry points: `node dist/pool.js` (the worker pool), `node dist/migrate.js` (run before a new
 * pool version starts).
 */
import { build, type Metafile } from "esbuild";
import { cp, readFile, rm } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { migrationsFolder } from "../db/migrate";

/** Not imported from local-stack.ts: the image's build stage has only this, db/, core/ and workers/pool. */
const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));

export const ENTRY_POINTS = { pool: "workers/pool/main.ts", migrate: "scripts/migrate.ts" } as const;

export interface PoolBuild {
  outdir: string;
  /** npm packages the bundle imports at run time (each must be a production dependency). */
  packages: string[];
  /** The project's source files the bundle was built from, relative to the project root. */
  sources: string[];
}

/** Builds the pool into `outdir` (default `dist/`), replacing what was there. */
export async function buildPool(outdir = join(PROJECT_ROOT, "dist")): Promise<PoolBuild> {
  await rm(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: ENTRY_POINTS,
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    metafile: true,
    logLevel: "warning",
  });
  await cp(migrationsFolder, join(outdir, "migrations"), { recursive: true });
  return { outdir, packages: importedPackages(result.metafile), sources: Object.keys(result.metafile.inputs).sort() };
}

/** The package names (`pg`, `@langchain/core`) behind the bundle's external imports. */
export function importedPackages(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external || isBuiltin(path)) continue;
      const parts = path.split("/");
      names.add(path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
    }
  }
  return [...names].sort();
}

/** Packages the build imports that `npm ci --omit=dev` would not install. */
export async function missingProductionDependencies(packages: string[]): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  return packages.filter((name) => !(name in (manifest.dependencies ?? {})));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const started = performance.now();
  const { outdir, packages } = await buildPool();
  const missing = await missingProductionDependencies(packages);
  if (missing.length > 0) {
    console.error(`build: imported but not in "dependencies" (the image installs only those): ${missing.join(", ")}`);
    process.exit(1);
  }
  console.log(
    `build: ${outdir} (pool.js, migrate.js, migrations/) in ${Math.round(performance.now() - started)} ms; ${packages.length} runtime packages`,
  );
}
