import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../observability/log";
import { replyStream, type StreamedTokens } from "./reply-stream";

/** The edge's side, on loopback: records each request and answers as the test says. */
describe("replyStream", () => {
  let server: Server;
  let url: string;
  const received: StreamedTokens[] = [];
  let answer: (body: StreamedTokens) => { status: number; body: Record<string, unknown>; delayMs?: number } = () => ({
    status: 200,
    body: { streaming: true },
  });
  const logger = createLogger({}, "error");

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as StreamedTokens;
      received.push(body);
      const { status, body: json, delayMs } = answer(body);
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/reply?t=token`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends the first token at once and whatever was written meanwhile in the next request, in order", async () => {
    received.length = 0;
    answer = () => ({ status: 200, body: { streaming: true }, delayMs: 30 });
    const stream = replyStream({ url, turn: "CA1:1", logger });
    for (const token of ["Our", " shop", " opens", " at", " nine."]) stream.onToken(token);
    await stream.close();
    expect(received[0]).toEqual({ turn: "CA1:1", tokens: "Our" });
    expect(received.length).toBe(2);
    expect(received.map((body) => body.tokens).join("")).toBe("Our shop opens at nine.");
    expect(stream.signal.aborted).toBe(false);
  });

  it("aborts the turn when the edge answers 409 or 410, and sends nothing more", async () => {
    for (const status of [409, 410]) {
      received.length = 0;
      answer = () => ({ status, body: { error: "the caller interrupted this reply" } });
      const stream = replyStream({ url, turn: "CA1:2", logger });
      stream.onToken("Ship");
      await expect.poll(() => stream.signal.aborted).toBe(true);
      expect(String((stream.signal.reason as Error).message)).toBe("the caller interrupted this reply");
      stream.onToken("ping");
      await stream.close();
      expect(received).toEqual([{ turn: "CA1:2", tokens: "Ship" }]);
    }
  });

  it("stops streaming, without cancelling the turn, when nobody listens or the edge fails", async () => {
    for (const reply of [
      { status: 200, body: { streaming: false } },
      { status: 500, body: { error: "boom" } },
    ]) {
      received.length = 0;
      answer = () => reply;
      const stream = replyStream({ url, turn: "s:1", logger });
      stream.onToken("Hello");
      await stream.close();
      stream.onToken(" again");
      await stream.close();
      expect(received).toHaveLength(1);
      expect(stream.signal.aborted).toBe(false);
    }
    const unreachable = replyStream({ url: "http://127.0.0.1:9/reply", turn: "s:2", logger });
    unreachable.onToken("Hello");
    await unreachable.close();
    expect(unreachable.signal.aborted).toBe(false);
  });
});
