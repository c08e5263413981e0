import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where a service's output goes: prefixed onto ours, into a log file, or nowhere (tests). */
export type ServiceOutput = "prefix" | "quiet" | { file: string };

export interface ServiceProcessOptions {
  /** Short name used as the output prefix and in error messages, e.g. "chroma". */
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  /** Merged over `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to "prefix". The last lines are kept in memory whatever this says. */
  output?: ServiceOutput;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly name: string;
  /** Also the id of the child's own process group. */
  readonly pid: number;
  /** Settles when the child (the group leader) exits. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** The last lines the child wrote to stdout or stderr, for error messages. */
  recentOutput(): string;
  /** Polls `url` until it answers `okStatus`; fails fast if the child exits first. */
  waitForHttp(url: string, options?: WaitForHttpOptions): Promise<void>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs` (default 5 s). Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface WaitForHttpOptions {
  /** Default 60 s: the edge (wrangler and workerd) alone needs a few seconds on a cold cache. */
  timeoutMs?: number;
  /** Default: any 2xx. */
  okStatus?: (status: number) => boolean;
  /**
   * Answers that will not get better by waiting (say a 500 from a worker whose environment
   * is incomplete): stop polling and fail at once, with the body. Default: none.
   */
  fatalStatus?: (status: number) => boolean;
}

const RECENT_LINES = 200;
const liveGroups = new Set<number>();
let watchdog: ChildProcess | undefined;

/**
 * Sends `signal` to every process in the group led by `pid` (services are spawned as
 * group leaders, so this reaches grandchildren such as workerd under wrangler).
 * Tests use it with SIGKILL to simulate a crash. Ignores groups that are already gone.
 */
export function killProcessTree(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Pids of the processes still running in group `pgid` (Linux, reads /proc). Zombies are
 * left out: they are dead, and in some containers PID 1 never reaps them, so
 * `process.kill(-pgid, 0)` would report a stopped group as alive. For tests.
 */
export function livePidsInGroup(pgid: number): number[] {
  return processTable()
    .filter((entry) => entry.pgrp === pgid && entry.state !== "Z")
    .map((entry) => entry.pid);
}

export interface ProcessEntry {
  pid: number;
  /** The executable's name (`workerd`, `node`, `postgres`). */
  comm: string;
  state: string;
  pgrp: number;
  /** User plus system CPU time so far, in seconds. */
  cpuSeconds: number;
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on every mainstream kernel. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Every process this user can see (Linux, /proc), for tests and benchmarks. */
export function processTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  if (!existsSync("/proc")) return entries; // not Linux: nothing to read, nothing to wait for
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid pgrp ... utime stime ..."; comm may hold spaces, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      entries.push({
        pid: Number(entry),
        comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
        state: fields[0]!,
        pgrp: Number(fields[2]),
        // Fields 14 and 15 of the line (utime, stime) are 11 and 12 after the comm.
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
      });
    } catch {
      // the process ended while we looked
    }
  }
  return entries;
}

/**
 * Starts a long-running service in its own process group, so that stopping it stops
 * everything it started, and so that it dies with us: on a normal exit through an `exit`
 * hook, and on any other death (even SIGKILL) through a detached watchdog that notices our
 * end of its stdin closing.
 *
 * @example
 * const chroma = spawnService({ name: "chroma", command: process.execPath, args: [entry] });
 * await chroma.waitForHttp(`http://127.0.0.1:${port}/api/v2/heartbeat`);
 * await chroma.stop();
 */
export function spawnService(options: ServiceProcessOptions): ServiceProcess {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true, // own process group; also keeps terminal Ctrl-C to ourselves
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) {
    child.once("error", () => undefined); // reported by the throw below
    throw new Error(`${options.name}: could not start ${options.command}`);
  }
  const pid = child.pid;
  trackGroup(pid);

  const recent: string[] = [];
  const sink = openSink(options.name, options.output ?? "prefix");
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      sink?.write(chunk);
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      recent.push(...lines);
      if (recent.length > RECENT_LINES) recent.splice(0, recent.length - RECENT_LINES);
    });
    stream.on("end", () => partial && recent.push(partial));
  }
  child.once("close", () => sink?.close());

  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("error", () => resolve({ code: null, signal: null }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const cleanedUp = exited.then(async () => {
    // The leader is gone; whatever it left behind in its group goes too. SIGKILL lands
    // asynchronously, so `stop()` resolves once nothing of the group runs (at most about 2 s).
    killProcessTree(pid, "SIGKILL");
    for (let check = 0; check < 100 && livePidsInGroup(pid).length > 0; check++) await new Promise((resolve) => setTimeout(resolve, 20));
    untrackGroup(pid);
  });

  let stopping: Promise<void> | undefined;
  const service: ServiceProcess = {
    name: options.name,
    pid,
    exited,
    recentOutput: () => recent.join("\n"),
    waitForHttp: (url, waitOptions) => waitForHttp(service, url, waitOptions),
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) killProcessTree(pid, "SIGTERM");
        const timer = setTimeout(() => killProcessTree(pid, "SIGKILL"), graceMs);
        await cleanedUp;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  return service;
}

async function waitForHttp(
  service: ServiceProcess,
  url: string,
  { timeoutMs = 60_000, okStatus = (s) => s >= 200 && s < 300, fatalStatus = () => false }: WaitForHttpOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: ExitInfo | undefined;
  void service.exited.then((info) => (exit = info));
  let lastProblem = "no answer yet";
  while (Date.now() < deadline) {
    if (exit) {
      throw new Error(
        `${service.name} exited (code ${exit.code}, signal ${exit.signal}) before ${url} answered.\n` + service.recentOutput(),
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (okStatus(response.status)) {
        await response.body?.cancel();
        return;
      }
      lastProblem = `status ${response.status}: ${(await response.text()).slice(0, 500)}`;
      if (fatalStatus(response.status)) {
        throw new FatalAnswer(`${service.name}: ${url} answered ${lastProblem}\n${service.recentOutput()}`);
      }
    } catch (error) {
      if (error instanceof FatalAnswer) throw error;
      lastProblem = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${service.name}: ${url} not ready after ${timeoutMs} ms (${lastProblem}).\n${service.recentOutput()}`);
}

interface Sink {
  write(chunk: string): void;
  close(): void;
}

class FatalAnswer extends Error {}

function openSink(name: string, output: ServiceOutput): Sink | undefined {
  if (output === "quiet") return undefined;
  if (output === "prefix") {
    let atLineStart = true;
    return {
      write(chunk) {
        const text = chunk.replace(/\n(?=.)/g, `\n[${name}] `);
        process.stderr.write((atLineStart ? `[${name}] ` : "") + text);
        atLineStart = chunk.endsWith("\n");
      },
      close: () => undefined,
    };
  }
  const file = createWriteStream(output.file, { flags: "a" });
  return { write: (chunk) => void file.write(chunk), close: () => void file.end() };
}

function trackGroup(pgid: number): void {
  if (liveGroups.size === 0 && !watchdog) startWatchdog();
  liveGroups.add(pgid);
  watchdog?.stdin?.write(`+${pgid}\n`);
}

function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
  if (watchdog?.stdin?.writable) watchdog.stdin.write(`-${pgid}\n`);
}

function startWatchdog(): void {
  const script = fileURLToPath(new URL("./watchdog.mjs", import.meta.url));
  watchdog = spawn(process.execPath, [script], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
  watchdog.unref();
  // Our end of the pipe must not keep us alive; the watchdog waits for it to close.
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  watchdog.stdin?.on("error", () => undefined);
  process.once("exit", () => {
    for (const pgid of liveGroups) killProcessTree(pgid, "SIGKILL");
  });
}
