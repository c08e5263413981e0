import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SqsFaultProxy {
  url: string;
  /** SQS actions seen, in order (from `X-Amz-Target`, e.g. `AmazonSQS.ReceiveMessage`). */
  actions: string[];
  /** The same calls with the queue each named (`QueueUrl` of the JSON body), to tell queues apart. */
  calls: Array<{ action: string; queueUrl: string | undefined }>;
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of the SQS emulator that lets a test act at an exact point of
 * the protocol: when a request's action matches `intercept`, `onIntercept` runs and the request
 * is never forwarded (its connection is destroyed). Used to kill a pool between "reply sent" and
 * "queue message deleted" with no hooks in the pool's code.
 */
export async function startSqsFaultProxy(
  target: string,
  intercept: (action: string) => boolean,
  onIntercept: () => void,
): Promise<SqsFaultProxy> {
  const actions: string[] = [];
  const calls: SqsFaultProxy["calls"] = [];
  const upstream = new URL(target);
  const server: Server = createServer(async (incoming, outgoing) => {
    const action = String(incoming.headers["x-amz-target"] ?? "");
    actions.push(action);
    // SQS JSON-protocol bodies are small: read whole, so the queue can be recorded, then forwarded.
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let queueUrl: string | undefined;
    try {
      queueUrl = (JSON.parse(body.toString("utf8")) as { QueueUrl?: string }).QueueUrl;
    } catch {
      queueUrl = undefined;
    }
    calls.push({ action, queueUrl });
    if (intercept(action)) {
      onIntercept();
      incoming.socket.destroy();
      return;
    }
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forward.on("error", () => outgoing.destroy());
    forward.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    actions,
    calls,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
