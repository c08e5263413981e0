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
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
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
