/**
 * The child process behind `startEdge` (scripts/stack/edge.ts): runs one Worker locally in workerd
 * through wrangler's `unstable_startWorker`, the API `wrangler dev` itself is built on, and keeps
 * it up until SIGTERM or SIGINT. Its options arrive as JSON in `EDGE_RUNNER_OPTIONS`, so the
 * Worker's vars (local secrets included) never appear in `ps`.
 *
 * Why not the `wrangler dev` command: it always attaches its DevTools proxy to the Worker and
 * enables the `Network` and `Runtime` domains, so every outbound fetch and every log line is
 * reported through the inspector to wrangler's Node process. That costs the Worker about a third
 * of its webhook throughput (docs/performance.md), which a deployed Worker never pays. Here the
 * inspector is attached only when asked for (`inspectorPort`, for a CPU profile).
 */
import { getNodeCompat } from "miniflare";
import { unstable_startWorker } from "wrangler";

export interface EdgeRunnerOptions {
  /** Absolute path of the wrangler config. */
  config: string;
  environment?: string;
  port: number;
  /** Attach workerd's inspector on this loopback port; absent leaves it off. */
  inspectorPort?: number;
  vars: Record<string, string>;
  persistDir?: string;
}

const options = JSON.parse(process.env.EDGE_RUNNER_OPTIONS ?? "null") as EdgeRunnerOptions | null;
if (!options) throw new Error("edge-runner: EDGE_RUNNER_OPTIONS is not set (it is started by scripts/stack/edge.ts)");

const worker = await unstable_startWorker({
  config: options.config,
  ...(options.environment ? { env: options.environment } : {}),
  // Secret text: the binding table wrangler prints shows "(hidden)" instead of the value.
  bindings: Object.fromEntries(Object.entries(options.vars).map(([name, value]) => [name, { type: "secret_text" as const, value }])),
  // `wrangler dev` derives this from the config; the API leaves it to the caller.
  build: { nodejsCompatMode: (config) => getNodeCompat(config.compatibility_date, config.compatibility_flags).mode },
  dev: {
    remote: false,
    watch: false,
    server: { hostname: "127.0.0.1", port: options.port },
    inspector: options.inspectorPort ? { hostname: "127.0.0.1", port: options.inspectorPort } : false,
    ...(options.persistDir ? { persist: options.persistDir } : {}),
  },
});
await worker.ready;

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  worker.dispose().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
