import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnService, type ServiceOutput } from "./child";
import type { EdgeRunnerOptions } from "./edge-runner";
import { freePort } from "./ports";

export interface EdgeOptions {
  /** Port on 127.0.0.1; absent picks a free one. */
  port?: number;
  /** Worker vars, over the config's; passed to the runner in its environment, never on a command line. Names must be identifiers. */
  vars?: Record<string, string>;
  /** Where workerd keeps local KV/D1/Durable Object state; default `.wrangler/state` beside the config. */
  persistDir?: string;
  /** Wrangler config, relative to the project root; default `wrangler.toml`. */
  config?: string;
  /** A wrangler environment, with its own bindings (`hyperdrive`: the database through Hyperdrive). */
  environment?: string;
  /** Attach workerd's inspector (DevTools) on a free loopback port: for CPU profiles. Off by default, as in production. */
  inspector?: boolean;
  /** Extra variables for wrangler itself (say CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE). */
  processEnv?: Record<string, string>;
  output?: ServiceOutput;
  /** Default 60 s: the first start bundles with esbuild and unpacks workerd. */
  readyTimeoutMs?: number;
  /** Default `/healthz`; must answer 200. */
  healthPath?: string;
}

export interface EdgeHandle {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Present when started with `inspector: true`. */
  inspectorPort?: number;
  pid: number;
  stop(): Promise<void>;
}

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const WRANGLER = resolve(PROJECT_ROOT, "node_modules/.bin/wrangler");

/** Environment that keeps wrangler on loopback: no metrics, crash reports, update check or `Request.cf` fetch. */
export const OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true", // the banner is what triggers the npm update check
  CLOUDFLARE_CF_FETCH_ENABLED: "false", // use miniflare's placeholder `request.cf`
};

/**
 * Runs a Worker locally in workerd (offline, on 127.0.0.1) and resolves once its health route
 * answers 200. The edge in tests and `npm start` runs the same runtime as production, not a Node
 * imitation of it; the `config` option lets a benchmark start a second, bare worker beside it.
 * The Worker runs in a child process (scripts/stack/edge-runner.ts: the bundle `wrangler deploy`
 * builds, served by Miniflare) that leads its own process group, workerd included.
 *
 * @example
 * const edge = await startEdge({ vars: { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/app" } });
 * await fetch(`${edge.url}/healthz`);
 */
export async function startEdge(options: EdgeOptions = {}): Promise<EdgeHandle> {
  for (const key of Object.keys(options.vars ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`startEdge: bad var name ${JSON.stringify(key)}`);
  }
  const [port, inspectorPort] = await Promise.all([options.port ?? freePort(), options.inspector ? freePort() : undefined]);
  const runnerOptions: EdgeRunnerOptions = {
    config: resolve(PROJECT_ROOT, options.config ?? "wrangler.toml"),
    port,
    vars: options.vars ?? {},
    wrangler: WRANGLER,
    ...(options.environment ? { environment: options.environment } : {}),
    ...(inspectorPort ? { inspectorPort } : {}),
    ...(options.persistDir ? { persistDir: resolve(options.persistDir) } : {}),
  };
  const child = spawnService({
    name: "edge",
    command: process.execPath,
    args: ["--import", "tsx", resolve(PROJECT_ROOT, "scripts/stack/edge-runner.ts")],
    cwd: PROJECT_ROOT,
    env: { ...OFFLINE_ENV, NO_COLOR: "1", FORCE_COLOR: "0", ...options.processEnv, EDGE_RUNNER_OPTIONS: JSON.stringify(runnerOptions) },
    output: options.output ?? "prefix",
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await child.waitForHttp(`${url}${options.healthPath ?? "/healthz"}`, {
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      okStatus: (status) => status === 200,
      // A 500 from the worker itself (say BAD_ENVIRONMENT) will not heal by waiting.
      fatalStatus: (status) => status === 500,
    });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { url, port, ...(inspectorPort ? { inspectorPort } : {}), pid: child.pid, stop: () => child.stop() };
}
