import { Embeddings, type EmbeddingsParams } from "@langchain/core/embeddings";
import { GoogleGenerativeAIEmbeddings } from "@langchain/google-genai";
import { OpenAIEmbeddings } from "@langchain/openai";

export { DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODELS, type EmbeddingModelName } from "./models";

/** Keys and endpoints for the hosted embedding models (the tenant's keys first, then the environment). */
export interface EmbeddingCredentials {
  openai?: { apiKey: string; baseUrl?: string | undefined };
  gemini?: { apiKey: string; baseUrl?: string | undefined };
}

/** A model the base names cannot be used (no key for its provider): the source fails with this message. */
export class EmbeddingUnavailableError extends Error {
  readonly code = "EMBEDDING_UNAVAILABLE";
}

/**
 * The LangChain embeddings for a base's model. Vectors are L2-normalised by the caller
 * (`normalize`), so Chroma's default squared-L2 distance maps to cosine similarity.
 */
export function createEmbeddings(model: string, credentials: EmbeddingCredentials): Embeddings {
  const [provider, name] = splitModel(model);
  if (provider === "hashing") return new HashingEmbeddings({ dimensions: Number(name.split("-")[1] ?? 384) });
  if (provider === "openai") {
    if (!credentials.openai) throw new EmbeddingUnavailableError(`no OpenAI key is configured for the embedding model ${model}`);
    return new OpenAIEmbeddings({
      model: name,
      apiKey: credentials.openai.apiKey,
      maxRetries: 1,
      ...(credentials.openai.baseUrl ? { configuration: { baseURL: credentials.openai.baseUrl } } : {}),
    });
  }
  if (provider === "gemini") {
    if (!credentials.gemini) throw new EmbeddingUnavailableError(`no Gemini key is configured for the embedding model ${model}`);
    return new GoogleGenerativeAIEmbeddings({
      model: name,
      apiKey: credentials.gemini.apiKey,
      maxRetries: 1,
      ...(credentials.gemini.baseUrl ? { baseUrl: credentials.gemini.baseUrl } : {}),
    });
  }
  throw new EmbeddingUnavailableError(`unknown embedding model ${model}`);
}

function splitModel(model: string): [string, string] {
  const at = model.indexOf(":");
  return at < 0 ? [model, ""] : [model.slice(0, at), model.slice(at + 1)];
}

/** Unit length, so squared L2 distance d and cosine similarity relate as cos = 1 - d / 2. */
export function normalize(vector: number[]): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  return norm > 0 ? vector.map((value) => value / norm) : vector;
}

/**
 * Offline embeddings by feature hashing (the "hashing trick"): lower-cased word unigrams and
 * bigrams plus character trigrams of each word are hashed (FNV-1a) into a fixed number of signed
 * buckets, weighted by 1 + log(tf), and L2-normalised. No model download, no key, deterministic;
 * good at lexical overlap (names, product terms, typos via trigrams), blind to synonyms. The default
 * when a tenant has no hosted embedding model. Hand-written because no maintained npm package does
 * exactly this with LangChain's interface; it is ~40 lines.
 */
export class HashingEmbeddings extends Embeddings {
  readonly dimensions: number;

  constructor(fields: EmbeddingsParams & { dimensions?: number } = {}) {
    super(fields);
    this.dimensions = fields.dimensions ?? 384;
  }

  embedQuery(text: string): Promise<number[]> {
    return Promise.resolve(this.embed(text));
  }

  embedDocuments(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((text) => this.embed(text)));
  }

  embed(text: string): number[] {
    const counts = new Map<string, number>();
    const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);
    const words =
      text
        .toLowerCase()
        .normalize("NFKC")
        .match(/[\p{L}\p{N}]+/gu) ?? [];
    words.forEach((word, i) => {
      add(`w:${word}`);
      if (i > 0) add(`b:${words[i - 1]} ${word}`);
      const padded = `<${word}>`;
      for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`);
    });
    const vector = new Array<number>(this.dimensions).fill(0);
    for (const [feature, count] of counts) {
      const hash = fnv1a(feature);
      vector[hash % this.dimensions]! += (hash & 0x80000000 ? -1 : 1) * (1 + Math.log(count));
    }
    return normalize(vector);
  }
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
