/**
 * `npm run build:console`: builds the console (Vite) into workers/console/dist/console, which the
 * edge serves as static assets at /console/, and reports the JavaScript a first visit loads (the
 * entry chunk and its static imports, gzipped). Fails above the 300 KB budget. Part of `npm test`.
 */
import { access, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";
import { CONSOLE_HEADERS, consoleCsp } from "../workers/edge/console-csp";

export const CONSOLE_ROOT = fileURLToPath(new URL("../workers/console/", import.meta.url));
export const CONSOLE_DIST = join(CONSOLE_ROOT, "dist", "console");
const BUDGET_KB = 300;

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  css?: string[];
}

/** The gzipped bytes of the JavaScript and CSS a first load fetches, from Vite's manifest. */
export async function firstLoadBytes(dist = CONSOLE_DIST): Promise<{ js: number; css: number; files: string[] }> {
  const manifest = JSON.parse(await readFile(join(dist, ".vite", "manifest.json"), "utf8")) as Record<string, ManifestChunk>;
  const seen = new Set<string>();
  const css = new Set<string>();
  const visit = (key: string) => {
    const chunk = manifest[key];
    if (!chunk || seen.has(chunk.file)) return;
    seen.add(chunk.file);
    for (const sheet of chunk.css ?? []) css.add(sheet);
    for (const imported of chunk.imports ?? []) visit(imported);
  };
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);
  const gz = async (file: string) => gzipSync(await readFile(join(dist, file)), { level: 9 }).length;
  const js = (await Promise.all([...seen].map(gz))).reduce((a, b) => a + b, 0);
  const cssBytes = (await Promise.all([...css].map(gz))).reduce((a, b) => a + b, 0);
  return { js, css: cssBytes, files: [...seen, ...css] };
}

/**
 * Response headers for the console's assets (Workers static assets read `_headers` at the root of
 * the assets directory): a strict CSP (same-origin scripts, styles and API calls only; no framing).
 * The page itself goes through the edge, which adds Auth0's origin where Auth0 signs in.
 */
const HEADERS = `/console/*
  Content-Security-Policy: ${consoleCsp()}
${Object.entries(CONSOLE_HEADERS)
  .map(([name, value]) => `  ${name}: ${value}`)
  .join("\n")}
`;

export async function buildConsole(): Promise<{ js: number; css: number }> {
  await build({ configFile: join(CONSOLE_ROOT, "vite.config.ts"), logLevel: "warn" });
  await writeFile(join(CONSOLE_ROOT, "dist", "_headers"), HEADERS);
  return firstLoadBytes();
}

/** The newest modification time under the console's sources (src/, index.html, vite.config.ts). */
async function newestSource(): Promise<number> {
  const files = [join(CONSOLE_ROOT, "index.html"), join(CONSOLE_ROOT, "vite.config.ts")];
  for (const entry of await readdir(join(CONSOLE_ROOT, "src"), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.push(join(entry.parentPath, entry.name));
  }
  return Math.max(...(await Promise.all(files.map(async (file) => (await stat(file)).mtimeMs))));
}

/**
 * Builds the console unless an up-to-date build is there: the edge's assets directory must exist
 * before it starts, and a test must never drive yesterday's build of today's sources.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  try {
    await access(join(CONSOLE_ROOT, "dist", "_headers"));
    if ((await stat(join(CONSOLE_DIST, "index.html"))).mtimeMs >= (await newestSource())) return;
  } catch {
    // no build yet
  }
  await buildConsole();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const { js, css } = await buildConsole();
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  console.log(
    `console built in ${((Date.now() - started) / 1000).toFixed(1)} s: first load ${kb(js)} KB of JavaScript gzipped (budget ${BUDGET_KB} KB), ${kb(css)} KB of CSS`,
  );
  if (js > BUDGET_KB * 1024) {
    console.error(`the console's first load is over its budget of ${BUDGET_KB} KB gzipped`);
    process.exit(1);
  }
}
