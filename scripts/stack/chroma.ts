import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnService, type ServiceOutput } from "./child";
import { freePort } from "./ports";

export interface ChromaOptions {
  /** Port on 127.0.0.1; absent picks a free one. */
  port?: number;
  /** Where Chroma keeps its data; created if missing. */
  dataDir: string;
  output?: ServiceOutput;
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

export interface ChromaHandle {
  /** `http://127.0.0.1:PORT` */
  url: string;
  host: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL("./chroma-process.mjs", import.meta.url));

/**
 * Runs the real Chroma server (1.0.0, API v2, from the 1.0.5 JS binding) in a child
 * process bound to 127.0.0.1, and resolves once its heartbeat answers. A child, because
 * the binding's `cli()` blocks the thread that calls it.
 *
 * @example
 * const chroma = await startChroma({ dataDir: ".data/chroma" });
 * const client = new ChromaClient({ host: chroma.host, port: chroma.port, ssl: false });
 */
export async function startChroma(options: ChromaOptions): Promise<ChromaHandle> {
  const port = options.port ?? (await freePort());
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const child = spawnService({
    name: "chroma",
    command: process.execPath,
    args: [ENTRY, dataDir, String(port)],
    // Chroma writes a colour banner; keep it plain when it goes to a log.
    env: { NO_COLOR: "1" },
    output: options.output ?? "prefix",
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await child.waitForHttp(`${url}/api/v2/heartbeat`, { timeoutMs: options.readyTimeoutMs ?? 30_000 });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { url, host: "127.0.0.1", port, pid: child.pid, stop: () => child.stop() };
}
