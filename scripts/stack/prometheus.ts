import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnService, type ServiceOutput, type ServiceProcess } from "./child";
import { preferredPort } from "./ports";

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface PrometheusHandle {
  url: string;
  port: number;
  process: ServiceProcess;
  stop(): Promise<void>;
}

/** The `prometheus` binary (Debian's package installs /usr/bin/prometheus), or undefined. */
export function findPrometheus(): string | undefined {
  for (const candidate of [process.env.PROMETHEUS_BIN, "prometheus", "/usr/bin/prometheus"]) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // try the next
    }
  }
  return undefined;
}

/**
 * A real Prometheus server (Debian's `prometheus` package) on 127.0.0.1, scraping the given
 * targets every `scrapeIntervalSeconds` with the platform's alert rules (ops/prometheus/alerts.yml)
 * loaded, its data in a temporary directory (or `dataDir`). Used by `npm start -- --with-monitoring`
 * and the monitoring test.
 */
export async function startPrometheus(options: {
  targets: Array<{ job: string; url: string }>;
  port?: number;
  dataDir?: string;
  scrapeIntervalSeconds?: number;
  output?: ServiceOutput;
}): Promise<PrometheusHandle> {
  const binary = findPrometheus();
  if (!binary) throw new Error("prometheus is not installed: apt-get install prometheus");
  const dir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "agent-prometheus-")));
  await mkdir(dir, { recursive: true });
  const interval = `${options.scrapeIntervalSeconds ?? 5}s`;
  const config = [
    "global:",
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    "rule_files:",
    `  - ${JSON.stringify(join(PROJECT_ROOT, "ops/prometheus/alerts.yml"))}`,
    "scrape_configs:",
    ...options.targets.flatMap(({ job, url }) => {
      const parsed = new URL(url);
      return [
        `  - job_name: ${JSON.stringify(job)}`,
        `    metrics_path: ${JSON.stringify(parsed.pathname)}`,
        `    scheme: ${parsed.protocol.replace(":", "")}`,
        "    static_configs:",
        `      - targets: [${JSON.stringify(parsed.host)}]`,
      ];
    }),
    "",
  ].join("\n");
  await writeFile(join(dir, "prometheus.yml"), config);
  const port = await preferredPort(options.port);
  const child = spawnService({
    name: "prometheus",
    command: binary,
    args: [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=2d",
    ],
    output: options.output ?? "prefix",
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await child.waitForHttp(`${url}/-/ready`, { timeoutMs: 60_000 });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return {
    url,
    port,
    process: child,
    async stop() {
      await child.stop();
      if (!options.dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
