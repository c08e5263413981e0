import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export interface FakeSentry {
  /** A DSN pointing here: `http://<public key>@127.0.0.1:<port>/<project>`. */
  dsn: string;
  /** Envelopes received, each as its raw text (header, item headers and payloads, one a line). */
  envelopes(): string[];
  /** The event payloads (`type: "event"` items) parsed. */
  events(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A loopback stand-in for Sentry's ingestion endpoint (`POST /api/<project>/envelope/`), as SDKs send to it. */
export async function startFakeSentry(): Promise<FakeSentry> {
  const received: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let body = Buffer.concat(chunks);
      if (request.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      if (request.method === "POST" && /^\/api\/\d+\/envelope\/?/.test(request.url ?? "")) received.push(body.toString("utf8"));
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    dsn: `http://publickey@127.0.0.1:${port}/42`,
    envelopes: () => [...received],
    events: () =>
      received.flatMap((envelope) => {
        const lines = envelope.split("\n");
        const events: Array<Record<string, unknown>> = [];
        for (let i = 1; i + 1 < lines.length; i += 2) {
          const header = JSON.parse(lines[i]!) as { type?: string };
          if (header.type === "event") events.push(JSON.parse(lines[i + 1]!) as Record<string, unknown>);
        }
        return events;
      }),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
