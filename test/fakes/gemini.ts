import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fakeEmbedding, type FakeFault } from "./openai";

export interface RecordedGenerateContent {
  apiKey: string | undefined;
  model: string;
  body: {
    contents: Array<{ role: string; parts: Array<{ text?: string }> }>;
    systemInstruction?: { role?: string; parts: Array<{ text?: string }> };
    generationConfig?: { temperature?: number; maxOutputTokens?: number };
    tools?: unknown[];
  };
}

export interface FakeGemini {
  /** What `ChatGoogleGenerativeAI`'s `baseUrl` expects (the SDK appends `/v1beta/models/...`). */
  baseUrl: string;
  requests: RecordedGenerateContent[];
  /** `:embedContent` and `:batchEmbedContents` calls: model and texts. */
  embeddingRequests: Array<{ model: string; input: string[] }>;
  failNext(count: number, fault: FakeFault): void;
  close(): Promise<void>;
}

/**
 * A loopback fake of the Gemini API's `POST /v1beta/models/{model}:generateContent` (and
 * `:streamGenerateContent?alt=sse`, a word an event, the usage on the last),
 * keyed by the `x-goog-api-key` header, answering with `candidates` and `usageMetadata` as Google
 * does, so `@google/generative-ai` under LangChain's `ChatGoogleGenerativeAI` is exercised. The
 * answer names the model and repeats the last user text.
 */
export async function startFakeGemini(options: { apiKey: string }): Promise<FakeGemini> {
  const requests: RecordedGenerateContent[] = [];
  const embeddingRequests: Array<{ model: string; input: string[] }> = [];
  let failures: { count: number; fault: FakeFault } = { count: 0, fault: 500 };
  const server: Server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const embed = /^\/v1(?:beta)?\/models\/([^/:]+):(embedContent|batchEmbedContents)$/.exec(request.url ?? "");
    if (request.method === "POST" && embed) {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (request.headers["x-goog-api-key"] !== options.apiKey) {
        return reply(400, { error: { code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT" } });
      }
      type EmbedRequest = { content: { parts: Array<{ text?: string }> } };
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as EmbedRequest | { requests: EmbedRequest[] };
      const items = "requests" in body ? body.requests : [body];
      const texts = items.map((item) => item.content.parts.map((part) => part.text ?? "").join(""));
      embeddingRequests.push({ model: decodeURIComponent(embed[1]!), input: texts });
      if (embed[2] === "embedContent") return reply(200, { embedding: { values: fakeEmbedding(texts[0] ?? "") } });
      return reply(200, { embeddings: texts.map((text) => ({ values: fakeEmbedding(text) })) });
    }
    const match = /^\/v1(?:beta)?\/models\/([^/:]+):(generateContent|streamGenerateContent\?alt=sse)$/.exec(request.url ?? "");
    if (request.method !== "POST" || !match) {
      return reply(404, { error: { code: 404, message: `Method not found: ${request.url}`, status: "NOT_FOUND" } });
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const apiKey = request.headers["x-goog-api-key"] as string | undefined;
    if (apiKey !== options.apiKey) {
      return reply(400, { error: { code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT" } });
    }
    const model = decodeURIComponent(match[1]!);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as RecordedGenerateContent["body"];
    requests.push({ apiKey, model, body });
    const promptTokenCount = JSON.stringify(body.contents).length >> 2;
    const answer = (text: string) => {
      const candidatesTokenCount = text.length >> 2;
      const usageMetadata = { promptTokenCount, candidatesTokenCount, totalTokenCount: promptTokenCount + candidatesTokenCount };
      const event = (part: string, last: boolean) => ({
        candidates: [{ content: { role: "model", parts: [{ text: part }] }, ...(last ? { finishReason: "STOP" } : {}), index: 0 }],
        ...(last ? { usageMetadata } : {}),
        modelVersion: model,
      });
      if (match[2] === "generateContent") return reply(200, event(text, true));
      const words = text.match(/\s*\S+/g) ?? [""];
      response.writeHead(200, { "content-type": "text/event-stream" });
      words.forEach((word, i) => response.write(`data: ${JSON.stringify(event(word, i === words.length - 1))}\r\n\r\n`));
      response.end();
    };
    if (failures.count > 0) {
      failures.count--;
      if (failures.fault === "hang") return;
      if (failures.fault === 429)
        return reply(429, {
          error: { code: 429, message: "Resource has been exhausted (e.g. check quota).", status: "RESOURCE_EXHAUSTED" },
        });
      if (failures.fault === 500)
        return reply(500, { error: { code: 500, message: "An internal error has occurred.", status: "INTERNAL" } });
      return answer("");
    }
    const lastUser = [...body.contents].reverse().find((content) => content.role === "user");
    return answer(`(${model}) You asked: ${(lastUser?.parts ?? []).map((part) => part.text ?? "").join("")}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    embeddingRequests,
    failNext(count, fault) {
      failures = { count, fault };
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
