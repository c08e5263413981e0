import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { constantTimeEqual, deriveSecret } from "../../core/crypto/hmac";
import type { LocalKeys } from "../local-keys";

/**
 * The running `npm start`'s control endpoint on 127.0.0.1: `POST /database/dump` answers the
 * embedded PGlite's data directory as a gzipped tarball, taken inside the process that owns it
 * (another process cannot open a PGlite data directory in use). `npm run backup` calls it with a
 * token derived from the stack's signing key in `.data/keys.json` (mode 0600), so only someone who
 * can read the stack's keys can copy its database.
 */
export async function startControlServer(options: {
  keys: Pick<LocalKeys, "WEBHOOK_SIGNING_KEY">;
  dumpDatabase: () => Promise<Blob>;
}): Promise<{ url: string; close(): Promise<void> }> {
  const token = await controlToken(options.keys);
  const server = createServer((request, response) => {
    const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1] ?? "";
    if (!constantTimeEqual(presented, token)) return void response.writeHead(401).end("unauthorized\n");
    if (request.method !== "POST" || request.url !== "/database/dump") return void response.writeHead(404).end("not found\n");
    options
      .dumpDatabase()
      .then((blob) => {
        response.writeHead(200, { "content-type": "application/gzip", "content-length": String(blob.size) });
        Readable.fromWeb(blob.stream() as never).pipe(response);
      })
      .catch((error: unknown) => response.writeHead(500).end(`${error instanceof Error ? error.message : String(error)}\n`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function controlToken(keys: Pick<LocalKeys, "WEBHOOK_SIGNING_KEY">): Promise<string> {
  return deriveSecret(keys.WEBHOOK_SIGNING_KEY, "local-control", "database-dump");
}
