import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeFault } from "./openai";

export interface RecordedOllamaChat {
  body: {
    model: string;
    messages: Array<{ role: string; content: string }>;
    stream?: boolean;
    options?: { temperature?: number; num_predict?: number };
    tools?: unknown[];
  };
}

export interface FakeOllama {
  baseUrl: string;
  requests: RecordedOllamaChat[];
  failNext(count: number, fault: FakeFault): void;
  close(): Promise<void>;
}

/**
 * A loopback fake of Ollama's `POST /api/chat`, streaming NDJSON as Ollama does when `stream` is
 * true (LangChain's `ChatOllama` always streams): one line with the content, then a final
 * `done: true` line with `prompt_eval_count` and `eval_count`. Non-streaming requests get one JSON
 * object. The answer names the model and repeats the last user message.
 */
export async function startFakeOllama(): Promise<FakeOllama> {
  const requests: RecordedOllamaChat[] = [];
  let failures: { count: number; fault: FakeFault } = { count: 0, fault: 500 };
  const server: Server = createServer(async (request, response) => {
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (request.method !== "POST" || request.url !== "/api/chat") return json(404, { error: "404 page not found" });
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as RecordedOllamaChat["body"];
    requests.push({ body });
    let content: string;
    if (failures.count > 0) {
      failures.count--;
      if (failures.fault === "hang") return;
      if (failures.fault === 429 || failures.fault === 500) {
        return json(failures.fault, {
          error: failures.fault === 429 ? "server busy, please try again" : "llama runner process has terminated",
        });
      }
      content = "";
    } else {
      const lastUser = [...body.messages].reverse().find((message) => message.role === "user");
      content = `(${body.model}) You asked: ${lastUser?.content ?? ""}`;
    }
    const base = { model: body.model, created_at: new Date().toISOString() };
    const done = {
      ...base,
      message: { role: "assistant", content: "" },
      done: true,
      done_reason: "stop",
      total_duration: 1_000_000,
      load_duration: 1000,
      prompt_eval_count: JSON.stringify(body.messages).length >> 2,
      prompt_eval_duration: 1000,
      eval_count: content.length >> 2,
      eval_duration: 1000,
    };
    if (body.stream === false) return json(200, { ...done, message: { role: "assistant", content } });
    response.writeHead(200, { "content-type": "application/x-ndjson" });
    if (content) response.write(`${JSON.stringify({ ...base, message: { role: "assistant", content }, done: false })}\n`);
    response.end(`${JSON.stringify(done)}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext(count, fault) {
      failures = { count, fault };
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
