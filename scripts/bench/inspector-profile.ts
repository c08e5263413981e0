/**
 * A V8 CPU profile of a Worker started with `inspector: true` (scripts/stack/edge.ts), taken through its inspector (the DevTools
 * protocol's `Profiler` domain, which workerd serves): what `node --cpu-prof` gives for the pool,
 * for the edge. The profile is a `.cpuprofile` that Chrome's DevTools (Performance → load) opens.
 * Hand-written because it is three protocol calls over one WebSocket (`ws`).
 *
 * @example
 * const profiling = await startInspectorProfile(edge.inspectorPort);
 * // … load …
 * await writeFile("edge.cpuprofile", JSON.stringify(await profiling.stop()));
 */
import WebSocket from "ws";

export interface InspectorProfile {
  /** Stops profiling and answers the profile (a DevTools `Profiler.Profile`). */
  stop(): Promise<unknown>;
}

export async function startInspectorProfile(inspectorPort: number): Promise<InspectorProfile> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl?: string }>;
  const url = targets.find((target) => target.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
  if (!url) throw new Error(`the inspector on port ${inspectorPort} lists no Worker to profile`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  socket.on("message", (data) => {
    const reply = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiting = reply.id === undefined ? undefined : pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id!);
    if (reply.error) waiting.reject(new Error(`inspector: ${reply.error.message}`));
    else waiting.resolve(reply.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 500 });
  await call("Profiler.start");
  return {
    async stop() {
      const { profile } = (await call("Profiler.stop")) as { profile: unknown };
      socket.close();
      return profile;
    },
  };
}
