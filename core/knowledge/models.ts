/**
 * Embedding models a knowledge base may use, as `<provider>:<model>`. The model is fixed when the
 * base is created: every vector in a base's collection has its dimensions. (Kept apart from
 * embeddings.ts so the edge can validate names without bundling the providers.)
 */
export const EMBEDDING_MODELS = [
  "hashing:v1-384",
  "openai:text-embedding-3-small",
  "openai:text-embedding-3-large",
  "gemini:text-embedding-004",
  "gemini:gemini-embedding-001",
] as const;
export type EmbeddingModelName = (typeof EMBEDDING_MODELS)[number];
export const DEFAULT_EMBEDDING_MODEL: EmbeddingModelName = "hashing:v1-384";
