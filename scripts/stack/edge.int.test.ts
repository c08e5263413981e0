import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { livePidsInGroup } from "./child";
import { startEdge, type EdgeHandle } from "./edge";

const TRICKY = {
  ECHO_URL: "postgres://user:p%40ss@127.0.0.1:5432/app?sslmode=disable",
  ECHO_PROXY: "127.0.0.1:4444/v1?address=127.0.0.1:5432",
  ECHO_COLONS: "a:b::c:",
  ECHO_SPACES: 'two words = "quoted" #not-a-comment $HOME',
  ECHO_EMPTY: "",
};

describe("edge (workerd on 127.0.0.1)", () => {
  let bare: EdgeHandle;
  let echo: EdgeHandle;
  const readyMs: Record<string, number> = {};

  beforeAll(async () => {
    const timed = async (name: string, start: () => Promise<EdgeHandle>) => {
      const t0 = performance.now();
      const handle = await start();
      readyMs[name] = Math.round(performance.now() - t0);
      return handle;
    };
    // Two at once: also shows they do not fight over ports.
    [bare, echo] = await Promise.all([
      timed("bare", () => startEdge({ config: "scripts/bench/bare-wrangler.toml", output: "quiet" })),
      timed("echo", () =>
        startEdge({ config: "scripts/stack/fixtures/echo-vars-wrangler.toml", vars: TRICKY, inspector: true, output: "quiet" }),
      ),
    ]);
    console.log(`edge ready in ${JSON.stringify(readyMs)} ms (started concurrently)`);
  });
  afterAll(async () => {
    await Promise.all([bare?.stop(), echo?.stop()]);
  });

  it("serves the bare Hono worker", async () => {
    expect(bare.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${bare.url}/`, { method: "POST", body: "{}" });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
  });

  it("attaches workerd's inspector only when asked", async () => {
    expect(bare.inspectorPort).toBeUndefined();
    const targets = (await (await fetch(`http://127.0.0.1:${echo.inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl?: string }>;
    expect(targets.some((target) => target.webSocketDebuggerUrl?.startsWith("ws://127.0.0.1:"))).toBe(true);
  });

  it("passes vars with ':' '/' spaces and quotes unchanged", async () => {
    const response = await fetch(`${echo.url}/vars`);
    expect(await response.json()).toEqual(TRICKY);
  });

  it("refuses a var name that is not an identifier", async () => {
    await expect(startEdge({ config: "scripts/bench/bare-wrangler.toml", vars: { "A:B": "x" } })).rejects.toThrow(/bad var name/);
  });

  it("fails with wrangler's reason when the Worker does not build", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edge-broken-"));
    try {
      await writeFile(join(dir, "wrangler.toml"), 'name = "broken"\nmain = "missing.ts"\ncompatibility_date = "2025-06-01"\n');
      await expect(startEdge({ config: join(dir, "wrangler.toml"), output: "quiet" })).rejects.toThrow(
        /could not build the Worker[\s\S]*missing\.ts/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stops the runner and workerd together", async () => {
    await bare.stop();
    expect(livePidsInGroup(bare.pid)).toEqual([]);
    await expect(fetch(`${bare.url}/healthz`)).rejects.toThrow();
  });
});
