import { createServer } from "node:net";

/**
 * Asks the kernel for a free TCP port on 127.0.0.1, so tests and the local stack never
 * collide with each other or with a fixed port someone else is using.
 *
 * The port is released before it is returned, so another process could in theory take it
 * first; on a developer machine that race is rare enough to accept.
 *
 * @example const port = await freePort();
 */
export async function freePort(): Promise<number> {
  return bindAndRelease(0);
}

/**
 * The well-known port when it is free on 127.0.0.1 (stable URLs for people), another free one
 * when something already listens there.
 *
 * @example const port = await preferredPort(8787);
 */
export async function preferredPort(port: number | undefined): Promise<number> {
  if (!port) return freePort();
  return bindAndRelease(port).catch(() => freePort());
}

function bindAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the port the kernel chose"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
