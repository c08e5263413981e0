import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { killProcessTree, livePidsInGroup, spawnService } from "./child";
import { freePort } from "./ports";

const node = process.execPath;
const httpServer = (port: number) =>
  `require("node:http").createServer((q, s) => s.end("ok")).listen(${port}, "127.0.0.1", () => console.log("listening"))`;

async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("spawnService", () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it("waits for health, then stops the child and its grandchildren", async () => {
    const port = await freePort();
    const service = spawnService({
      name: "tree",
      command: "sh",
      args: ["-c", `sleep 300 & exec ${node} -e '${httpServer(port)}'`],
      output: "quiet",
    });
    await service.waitForHttp(`http://127.0.0.1:${port}/`);
    expect(livePidsInGroup(service.pid).length).toBe(2); // node and the backgrounded sleep
    expect(service.recentOutput()).toContain("listening");
    await service.stop();
    expect(livePidsInGroup(service.pid)).toEqual([]);
  });

  it("fails fast, with the child's output, when the child exits before it is ready", async () => {
    const service = spawnService({
      name: "broken",
      command: node,
      args: ["-e", `console.error("bad config: PORT missing"); process.exit(3)`],
      output: "quiet",
    });
    const started = Date.now();
    await expect(service.waitForHttp("http://127.0.0.1:9/", { timeoutMs: 30_000 })).rejects.toThrow(
      /exited \(code 3.*\n.*bad config: PORT missing/s,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("times out with the last problem when nothing answers", async () => {
    const service = spawnService({ name: "idle", command: "sleep", args: ["300"], output: "quiet" });
    await expect(service.waitForHttp("http://127.0.0.1:9/", { timeoutMs: 300 })).rejects.toThrow(/not ready after 300 ms/);
    await service.stop();
  });

  it("stops waiting at once on an answer marked fatal, showing its body", async () => {
    const port = await freePort();
    const failing = `require("node:http").createServer((q, s) => { s.statusCode = 500; s.end("BAD_ENVIRONMENT"); }).listen(${port}, "127.0.0.1")`;
    const service = spawnService({ name: "misconfigured", command: node, args: ["-e", failing], output: "quiet" });
    try {
      await expect(service.waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 30_000, fatalStatus: (s) => s === 500 })).rejects.toThrow(
        /answered status 500: BAD_ENVIRONMENT/,
      );
    } finally {
      await service.stop();
    }
  });

  it("kills with SIGKILL a child that ignores SIGTERM, after the grace period", async () => {
    const service = spawnService({
      name: "stubborn",
      command: node,
      args: ["-e", `process.on("SIGTERM", () => console.log("ignored")); console.log("up"); setInterval(() => {}, 1000)`],
      output: "quiet",
    });
    await eventually(() => service.recentOutput().includes("up"));
    const started = Date.now();
    await service.stop(300);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await service.exited).signal).toBe("SIGKILL");
  });

  it("killProcessTree simulates a crash of the whole tree", async () => {
    const service = spawnService({ name: "crash", command: "sh", args: ["-c", "sleep 300 & sleep 300"], output: "quiet" });
    await eventually(() => livePidsInGroup(service.pid).length === 3);
    killProcessTree(service.pid);
    expect((await service.exited).signal).toBe("SIGKILL");
    await eventually(() => livePidsInGroup(service.pid).length === 0);
    await service.stop(); // still fine after a crash
  });

  it("writes output to a log file when asked", async () => {
    const dir = await mkdtemp(join(tmpdir(), "child-log-"));
    dirs.push(dir);
    const file = join(dir, "svc.log");
    const service = spawnService({ name: "logger", command: "sh", args: ["-c", "echo one; echo two >&2"], output: { file } });
    await service.exited;
    await eventually(() => service.recentOutput().includes("two"));
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the file stream flush
    expect((await readFile(file, "utf8")).split("\n").sort()).toEqual(["", "one", "two"]);
  });

  it("kills a service's group when its parent is SIGKILLed (the watchdog)", async () => {
    const childModule = fileURLToPath(new URL("./child.ts", import.meta.url));
    const parentCode = `
      import { spawnService } from ${JSON.stringify(childModule)};
      const s = spawnService({ name: "orphan", command: "sleep", args: ["300"], output: "quiet" });
      console.log(s.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(node, ["--import", "tsx", "--input-type=module", "-e", parentCode], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pgid = await new Promise<number>((resolve) => parent.stdout.once("data", (d) => resolve(Number(String(d).trim()))));
    expect(livePidsInGroup(pgid).length).toBe(1);
    parent.kill("SIGKILL"); // no exit hook runs: only the watchdog can clean up
    await eventually(() => livePidsInGroup(pgid).length === 0);
  });
});
