import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCompletion {
  authorization: string | undefined;
  body: {
    model: string;
    messages: Array<{ role: string; content: unknown }>;
    temperature?: number;
    max_tokens?: number;
    max_completion_tokens?: number;
    stream?: boolean;
  };
}

export interface FakeOpenAI {
  /** Base URL including `/v1`, as the OpenAI SDK's `baseURL` expects. */
  baseUrl: string;
  requests: RecordedCompletion[];
  /** The next `count` requests fail with this status (429 carries OpenAI's rate-limit error body). */
  failNext(count: number, status: 429 | 500): void;
  close(): Promise<void>;
}

/**
 * A loopback fake of OpenAI's Chat Completions API (`POST /v1/chat/completions`, non-streaming):
 * checks the bearer key, answers with a `chat.completion` object and its `usage`, so the official
 * SDK under LangChain's `ChatOpenAI` is what gets exercised. The answer names the model and
 * repeats the last user message, so tests can see what was sent.
 */
export async function startFakeOpenAI(options: { apiKey: string }): Promise<FakeOpenAI> {
  const requests: RecordedCompletion[] = [];
  let failures = { count: 0, status: 500 };
  const server: Server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json", "x-request-id": `req_${requests.length}` }).end(JSON.stringify(body));
    if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
      return reply(404, { error: { message: `Unknown request URL: ${request.method} ${request.url}`, type: "invalid_request_error", code: "unknown_url" } });
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const authorization = request.headers.authorization;
    if (authorization !== `Bearer ${options.apiKey}`) {
      return reply(401, { error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } });
    }
    let body: RecordedCompletion["body"];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(400, { error: { message: "We could not parse the JSON body of your request.", type: "invalid_request_error" } });
    }
    requests.push({ authorization, body });
    if (failures.count > 0) {
      failures.count--;
      if (failures.status === 429) return reply(429, { error: { message: "Rate limit reached for gpt-4o-mini.", type: "requests", code: "rate_limit_exceeded" } });
      return reply(500, { error: { message: "The server had an error while processing your request.", type: "server_error" } });
    }
    const lastUser = [...body.messages].reverse().find((message) => message.role === "user");
    const content = `(${body.model}) You asked: ${typeof lastUser?.content === "string" ? lastUser.content : JSON.stringify(lastUser?.content)}`;
    const promptTokens = JSON.stringify(body.messages).length >> 2;
    const completionTokens = content.length >> 2;
    return reply(200, {
      id: `chatcmpl-fake${requests.length}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: `${body.model}-2024-07-18`,
      choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      system_fingerprint: "fp_fake",
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    failNext(count, status) {
      failures = { count, status };
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
