import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SqsFaultProxy {
  url: string;
  /** SQS actions seen, in order (from `X-Amz-Target`, e.g. `AmazonSQS.ReceiveMessage`). */
  actions: string[];
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
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    const action = String(incoming.headers["x-amz-target"] ?? "");
    actions.push(action);
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
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    actions,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
