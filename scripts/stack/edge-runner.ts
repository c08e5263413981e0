/**
 * The child process behind `startEdge` (scripts/stack/edge.ts): builds one Worker the way it is
 * deployed and serves it from workerd on 127.0.0.1 until SIGTERM or SIGINT. Its options arrive as
 * JSON in `EDGE_RUNNER_OPTIONS`, so the Worker's vars (local secrets included) never appear in `ps`.
 *
 * 1. The bundle is what `wrangler deploy --dry-run` writes (the command `npm run deploy:check`
 *    checks and the deploy uploads): the same esbuild settings, aliases and Node.js polyfills.
 * 2. Its bindings (KV, Durable Objects, static assets, Hyperdrive, vars) are read from the same
 *    config with wrangler's `unstable_getMiniflareWorkerOptions`, the API the Workers Vitest pool
 *    uses.
 * 3. Miniflare runs it in workerd, listening on the requested port itself.
 *
 * Why not `wrangler dev` or its `unstable_startWorker` API: both put a proxy Worker, in a second
 * workerd, in front of the Worker (it keeps a stable URL across live reloads, which nothing here
 * uses), and `wrangler dev` also reports every outbound fetch to its DevTools inspector. The proxy
 * alone cost a bare route three quarters of its throughput and each turn about a tenth of the
 * machine's CPU (docs/performance.md); a deployed Worker pays neither. The inspector is attached
 * only when asked for (`inspectorPort`, for a CPU profile).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { Readable } from "node:stream";
import { basename, dirname, extname, join } from "node:path";
import { promisify } from "node:util";
import type { Miniflare } from "miniflare";

export interface EdgeRunnerOptions {
  /** Absolute path of the wrangler config. */
  config: string;
  environment?: string;
  port: number;
  /** Attach workerd's inspector on this loopback port; absent leaves it off. */
  inspectorPort?: number;
  vars: Record<string, string>;
  persistDir?: string;
  /** The wrangler CLI (node_modules/.bin/wrangler). */
  wrangler: string;
}

const options = JSON.parse(process.env.EDGE_RUNNER_OPTIONS ?? "null") as EdgeRunnerOptions | null;
if (!options) throw new Error("edge-runner: EDGE_RUNNER_OPTIONS is not set (it is started by scripts/stack/edge.ts)");

const outdir = await mkdtemp(join(tmpdir(), "agent-edge-bundle-"));
const removeBundle = () => rm(outdir, { recursive: true, force: true });
let miniflare: Miniflare | undefined;
let stopping = false;
const stop = (code: number) => {
  if (stopping) return;
  stopping = true;
  Promise.resolve(miniflare?.dispose())
    .finally(removeBundle)
    .then(
      () => process.exit(code),
      () => process.exit(1),
    );
};
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));

try {
  const environment = options.environment ? ["--env", options.environment] : [];
  // The build runs in a process of its own while this one loads Miniflare and wrangler (seconds each).
  const building = promisify(execFile)(
    options.wrangler,
    ["deploy", "--dry-run", "--outdir", outdir, "--config", options.config, ...environment],
    { cwd: dirname(options.config), env: process.env, maxBuffer: 16 * 1024 * 1024 },
  ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`edge-runner: wrangler could not build the Worker\n${error.stderr || error.stdout || error.message}`);
  });
  building.catch(() => {}); // handled below, once the imports are done; not an unhandled rejection meanwhile
  const [{ Log, LogLevel, Miniflare }, { unstable_getMiniflareWorkerOptions, unstable_readConfig }] = await Promise.all([
    import("miniflare"),
    import("wrangler"),
  ]);
  const built = await building;
  if (built.stderr.trim()) process.stderr.write(built.stderr);

  const config = unstable_readConfig({ config: options.config, ...(options.environment ? { env: options.environment } : {}) });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config, options.environment);
  // wrangler names the bundle after the entry module (`workers/edge/index.ts` → `index.js`).
  const entry = join(outdir, `${basename(config.main ?? "index", extname(config.main ?? ""))}.js`);
  const others = (await readdir(outdir)).filter((file) => join(outdir, file) !== entry && !/\.(map|md)$/.test(file));
  if (others.length) throw new Error(`edge-runner: the bundle has modules this runner does not load: ${others.join(", ")}`);
  miniflare = new Miniflare({
    host: "127.0.0.1",
    port: options.port,
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
    // Miniflare's placeholder `request.cf` instead of fetching Cloudflare's (no network beyond loopback).
    cf: false,
    // Where wrangler keeps local KV and Durable Object state, so `npm start` finds what it had.
    defaultPersistRoot: join(options.persistDir ?? join(dirname(options.config), ".wrangler", "state"), "v3"),
    // `/cdn-cgi/handler/email` and `/cdn-cgi/handler/scheduled`: the local mail server hands messages to the email handler.
    unsafeTriggerHandlers: true,
    log: new Log(LogLevel.WARN),
    // Miniflare's own line per request goes through its Node loopback server: CPU on every request.
    logRequests: false,
    // The Worker's log lines go out as workerd writes them.
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.pipe(process.stdout);
      stderr.pipe(process.stderr);
    },
    workers: [
      {
        ...workerOptions,
        name: config.name,
        // The bundle is one module (its imports are the runtime's own, `node:*` and `cloudflare:*`),
        // listed so Miniflare does not parse 9 MB of JavaScript looking for others (seconds).
        modulesRoot: outdir,
        modules: [{ type: "ESModule", path: entry }],
        bindings: { ...workerOptions.bindings, ...options.vars },
      },
    ],
  });
  await miniflare.ready;
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  stop(1);
}
