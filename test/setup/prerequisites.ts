/**
 * Vitest global set-up of the `int` project: what the integration tests need beyond npm packages,
 * obtained here so that a fresh machine's `npm install && npm test` passes with nothing installed by
 * hand (and `.ci/run` needs nothing the README does not do).
 *
 * - Debian's `chromium` (the web chat widget test drives it through playwright-core) and
 *   `prometheus` (for `promtool`, the alert rule tests): installed with apt when missing and running
 *   as root. The package may start its own Prometheus service on 0.0.0.0:9090; it is stopped again,
 *   as the tests start their own on loopback.
 * - The machine's PostgreSQL at 127.0.0.1:5432: started with `pg_ctlcluster` when it is installed
 *   but not running.
 *
 * Where that cannot be done (not root, no package source, no cluster) the run stops at once with one
 * line naming the command to run; a test is never skipped for want of a tool.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { Socket } from "node:net";

export const CHROMIUM_PATH = "/usr/bin/chromium";

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** One line, no stack: the run stops here and says what to do. */
export class PrerequisiteMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrerequisiteMissing";
    this.stack = `${this.name}: ${message}`;
  }
}

function aptInstall(packages: string[]): void {
  const command = `apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  if (!isRoot() || !onPath("apt-get")) {
    throw new PrerequisiteMissing(`the integration tests need ${packages.join(" and ")}: run \`sudo ${command}\`, then npm test again`);
  }
  console.log(`[test set-up] installing Debian's ${packages.join(", ")} (apt-get, once per machine)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  const install = update.status === 0 ? spawnSync("sh", ["-c", `${command} -qq`], { stdio: ["ignore", "ignore", "inherit"], env }) : update;
  if (install.status !== 0) {
    throw new PrerequisiteMissing(
      `installing ${packages.join(" and ")} failed (no package source?): run \`${command}\`, then npm test again`,
    );
  }
}

/** The Debian package starts a Prometheus service on every interface; ours start on loopback. */
function stopPackagedPrometheus(): void {
  if (onPath("systemctl")) spawnSync("systemctl", ["stop", "prometheus"], { stdio: "ignore" });
  if (existsSync("/etc/init.d/prometheus")) spawnSync("/etc/init.d/prometheus", ["stop"], { stdio: "ignore" });
}

export function ensureSystemPackages(): void {
  const missing: string[] = [];
  if (!existsSync(CHROMIUM_PATH)) missing.push("chromium");
  if (!onPath("promtool")) missing.push("prometheus");
  if (missing.length === 0) return;
  aptInstall(missing);
  if (missing.includes("prometheus")) stopPackagedPrometheus();
  if (!existsSync(CHROMIUM_PATH) || !onPath("promtool")) {
    throw new PrerequisiteMissing(`after installing ${missing.join(", ")}, ${CHROMIUM_PATH} or promtool is still missing`);
  }
}

function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.connect(port, host);
  });
}

/** Starts the machine's PostgreSQL cluster when it is installed and down (the tests use 127.0.0.1:5432). */
export async function ensurePostgres(url = process.env.DATABASE_URL): Promise<void> {
  const target = url ? new URL(url) : new URL("postgres://127.0.0.1:5432");
  const host = target.hostname || "127.0.0.1";
  const port = Number(target.port || 5432);
  if (await portOpen(host, port)) return;
  const isLocal = host === "127.0.0.1" || host === "localhost";
  const versions = existsSync("/etc/postgresql") ? readdirSync("/etc/postgresql") : [];
  const start = `pg_ctlcluster --skip-systemctl-redirect ${versions[0] ?? "<version>"} main start`;
  if (!isLocal || versions.length === 0 || !onPath("pg_ctlcluster")) {
    throw new PrerequisiteMissing(
      `PostgreSQL is not answering at ${host}:${port}: start it (on Debian: \`${start}\`), then npm test again`,
    );
  }
  console.log(`[test set-up] starting PostgreSQL: ${start}`);
  try {
    execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", versions[0]!, "main", "start"], { stdio: ["ignore", "ignore", "inherit"] });
  } catch {
    throw new PrerequisiteMissing(`PostgreSQL is not answering at ${host}:${port} and \`${start}\` failed: start it, then npm test again`);
  }
  for (let attempt = 0; attempt < 60; attempt++) {
    if (await portOpen(host, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new PrerequisiteMissing(`PostgreSQL was started but does not answer at ${host}:${port}`);
}

export default async function setup(): Promise<void> {
  ensureSystemPackages();
  await ensurePostgres();
}
