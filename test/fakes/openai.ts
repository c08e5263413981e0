import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCompletion {
  authorization: string | undefined;
  /** The request path: `/v1/chat/completions` for OpenAI, `/openai/v1/chat/completions` for Groq. */
  path: string;
  body: {
    model: string;
    messages: Array<{ role: string; content: unknown; tool_calls?: unknown[]; tool_call_id?: string }>;
    temperature?: number;
    max_tokens?: number;
    max_completion_tokens?: number;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
    tools?: Array<{ type: "function"; function: { name: string; description?: string; parameters?: unknown } }>;
  };
}

/** How the next requests fail: an HTTP status with the provider's error body, a hang, or an empty answer. */
export type FakeFault = 429 | 500 | "hang" | "empty";

export interface FakeOpenAI {
  /** Base URL including `/v1`, as the OpenAI SDK's `baseURL` expects. */
  baseUrl: string;
  /** Scheme, host and port only: Groq's SDK appends `/openai/v1/...` itself. */
  origin: string;
  requests: RecordedCompletion[];
  /** `POST …/embeddings` calls: model and inputs. */
  embeddingRequests: Array<{ model: string; input: string[] }>;
  /** The next `count` requests fail this way (429 carries OpenAI's rate-limit error body; "hang" never answers). */
  failNext(count: number, fault: FakeFault): void;
  /** The next request that offers tools gets this tool call instead of a text answer. */
  queueToolCall(call: { name: string; arguments?: Record<string, unknown> }): void;
  /** The next text answers (in order) are these, instead of repeating the user's message. */
  queueReply(content: string): void;
  /** Streamed answers (`stream: true`) pause this long between chunks (a word each); 0 by default. */
  streamChunkDelay(ms: number): void;
  /** Streamed answers whose client hung up before the last chunk (a cancelled turn). */
  readonly abandonedStreams: number;
  close(): Promise<void>;
}

/**
 * A loopback fake of OpenAI's Chat Completions API (`POST …/chat/completions`, whole or streamed
 * as server-sent `chat.completion.chunk`s with the usage chunk last when asked), the wire
 * protocol Groq speaks too: checks the bearer key, answers with a `chat.completion`
 * object and its `usage`, so the official SDKs under LangChain's `ChatOpenAI` and `ChatGroq` are
 * what gets exercised. The answer names the model and repeats the last user message; after a tool
 * result it repeats the tool's output (`Tool <name> said: ...`), so tests can see what was sent.
 */
export async function startFakeOpenAI(options: { apiKey: string }): Promise<FakeOpenAI> {
  const requests: RecordedCompletion[] = [];
  const embeddingRequests: Array<{ model: string; input: string[] }> = [];
  let failures: { count: number; fault: FakeFault } = { count: 0, fault: 500 };
  const toolCalls: Array<{ name: string; arguments?: Record<string, unknown> }> = [];
  const replies: string[] = [];
  let chunkDelayMs = 0;
  let abandonedStreams = 0;
  const server: Server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown) =>
      response
        .writeHead(status, { "content-type": "application/json", "x-request-id": `req_${requests.length}` })
        .end(JSON.stringify(body));
    const path = request.url ?? "/";
    if (request.method === "POST" && path.endsWith("/embeddings")) {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (request.headers.authorization !== `Bearer ${options.apiKey}`) {
        return reply(401, { error: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" } });
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        model: string;
        input: string | string[];
        encoding_format?: string;
      };
      const input = Array.isArray(body.input) ? body.input : [body.input];
      embeddingRequests.push({ model: body.model, input });
      const data = input.map((text, index) => {
        const vector = fakeEmbedding(text);
        // The SDK asks for base64 unless told otherwise: little-endian float32, as OpenAI sends.
        const embedding = body.encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
        return { object: "embedding", index, embedding };
      });
      const tokens = input.join(" ").length >> 2;
      return reply(200, { object: "list", data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    }
    if (request.method !== "POST" || !path.endsWith("/chat/completions")) {
      return reply(404, {
        error: { message: `Unknown request URL: ${request.method} ${path}`, type: "invalid_request_error", code: "unknown_url" },
      });
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
    requests.push({ authorization, path, body });
    const answer = async (
      message: { role: "assistant"; content: string | null; refusal: null; tool_calls?: unknown[] },
      finishReason = "stop",
    ) => {
      const whole = completion(body, message, requests.length, finishReason);
      if (!body.stream) return reply(200, whole);
      response.writeHead(200, { "content-type": "text/event-stream", "x-request-id": `req_${requests.length}` });
      for (const chunk of streamedChunks(whole, message, body.stream_options?.include_usage === true)) {
        if (response.destroyed) {
          abandonedStreams++;
          return;
        }
        response.write(`data: ${JSON.stringify(chunk)}\n\n`);
        if (chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, chunkDelayMs));
      }
      response.end("data: [DONE]\n\n");
    };
    if (failures.count > 0) {
      failures.count--;
      if (failures.fault === "hang") return; // never answers; the client's timeout or the engine's must act
      if (failures.fault === 429)
        return reply(429, { error: { message: "Rate limit reached for gpt-4o-mini.", type: "requests", code: "rate_limit_exceeded" } });
      if (failures.fault === 500)
        return reply(500, { error: { message: "The server had an error while processing your request.", type: "server_error" } });
      return answer({ role: "assistant", content: "", refusal: null });
    }
    const last = body.messages.at(-1);
    if (body.tools?.length && last?.role === "user" && toolCalls.length > 0) {
      const call = toolCalls.shift()!;
      return answer(
        {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: `call_${requests.length}`,
              type: "function",
              function: { name: call.name, arguments: JSON.stringify(call.arguments ?? {}) },
            },
          ],
        },
        "tool_calls",
      );
    }
    let content: string;
    if (replies.length > 0) {
      content = replies.shift()!;
    } else if (last?.role === "tool") {
      const asked = body.messages.find((m) => Array.isArray(m.tool_calls)) as
        { tool_calls: Array<{ id: string; function: { name: string } }> } | undefined;
      const name = asked?.tool_calls.find((c) => c.id === last.tool_call_id)?.function.name ?? "tool";
      content = `(${body.model}) Tool ${name} said: ${typeof last.content === "string" ? last.content : JSON.stringify(last.content)}`;
    } else {
      const lastUser = [...body.messages].reverse().find((message) => message.role === "user");
      content = `(${body.model}) You asked: ${typeof lastUser?.content === "string" ? lastUser.content : JSON.stringify(lastUser?.content)}`;
    }
    return answer({ role: "assistant", content, refusal: null });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: `${origin}/v1`,
    origin,
    requests,
    embeddingRequests,
    failNext(count, fault) {
      failures = { count, fault };
    },
    queueToolCall(call) {
      toolCalls.push(call);
    },
    queueReply(content) {
      replies.push(content);
    },
    streamChunkDelay(ms) {
      chunkDelayMs = ms;
    },
    get abandonedStreams() {
      return abandonedStreams;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function completion(body: RecordedCompletion["body"], message: Record<string, unknown>, n: number, finishReason = "stop") {
  const promptTokens = JSON.stringify(body.messages).length >> 2;
  const completionTokens = typeof message.content === "string" ? message.content.length >> 2 : 8;
  return {
    id: `chatcmpl-fake${n}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: `${body.model}-2024-07-18`,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    system_fingerprint: "fp_fake",
  };
}

/** A completion as OpenAI streams it: the role, the content a word a chunk (or the tool calls), the finish, then the usage if asked. */
function streamedChunks(
  whole: ReturnType<typeof completion>,
  message: { content: string | null; tool_calls?: unknown[] },
  includeUsage: boolean,
): Array<Record<string, unknown>> {
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    id: whole.id,
    object: "chat.completion.chunk",
    created: whole.created,
    model: whole.model,
    system_fingerprint: whole.system_fingerprint,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const chunks: Array<Record<string, unknown>> = [chunk({ role: "assistant", content: "", refusal: null })];
  for (const word of message.content?.match(/\s*\S+/g) ?? []) chunks.push(chunk({ content: word }));
  (message.tool_calls ?? []).forEach((call, index) => chunks.push(chunk({ tool_calls: [{ index, ...(call as object) }] })));
  chunks.push(chunk({}, whole.choices[0]!.finish_reason));
  if (includeUsage) chunks.push({ ...chunk({}), choices: [], usage: whole.usage });
  return chunks;
}

/**
 * A deterministic 64-dimension embedding for the fakes: each lower-cased word adds 1 to a bucket
 * chosen by its hash, so texts sharing words are close. Not a model; enough to test retrieval.
 */
export function fakeEmbedding(text: string): number[] {
  const vector = new Array<number>(64).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let hash = 0;
    for (let i = 0; i < word.length; i++) hash = (hash * 31 + word.charCodeAt(i)) >>> 0;
    vector[hash % 64]! += 1;
  }
  return vector;
}
