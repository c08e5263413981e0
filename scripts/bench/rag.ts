/**
 * `npm run bench:rag [-- --sizes 10000,100000 --queries 300 --docs 200 --sources 20]`
 *
 * Knowledge on the real Chroma server (started here, on 127.0.0.1, in a temporary directory):
 * 1. ingestion: synthetic documents (~6,000 characters each) go through the same pipeline as a
 *    job (LangChain `RecursiveCharacterTextSplitter`, 1,000/150, the offline hashing embedding,
 *    `KnowledgeStore.replaceSourceChunks`) one at a time, then as many at once as the pool's job
 *    consumer runs (their Chroma writes coalesce), printed as chunks per second; then the whole
 *    job: sources added through the admin verb, one job each on the SQS emulator, the pool's job
 *    consumer with its database reads and writes (PGlite here by default, `DATABASE_URL`'s
 *    PostgreSQL when set);
 * 2. retrieval: one tenant's knowledge base grown to each size in `--sizes` (bulk chunks spread
 *    over `--sources` sources), then `--queries` retrievals as a turn makes them (embed the query,
 *    top 4 from the tenant's base collection, hits checked against tenant, base and sources), for an
 *    agent using all the base's sources, for one using two (the store's choice from their share of
 *    the base) and for the two through Chroma's source pre-filter, printed as p50 and p99.
 * Retrieval uses no database (its part of a retrieval is one indexed select). No network beyond
 * loopback.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { HashingEmbeddings } from "../../core/knowledge/embeddings";
import { KnowledgeStore } from "../../core/knowledge/store";
import { startChroma } from "../stack/chroma";
import { createKnowledgeJobConsumer, KNOWLEDGE_JOBS_PER_RECEIVE } from "../../workers/pool/knowledge";
import { createKnowledgeBase, createKnowledgeBaseInput } from "../../core/knowledge/admin";
import { createSqsKnowledgeJobQueue } from "../../core/knowledge/jobs";
import { addKnowledgeSource, createSourceInput } from "../../core/knowledge/sources-admin";
import { createLogger } from "../../core/observability/log";
import { sqsOverSdk } from "../../core/queue/sqs";
import { createPoolDb } from "../../db/client";
import { buildTenantGraph, insertTenantGraph } from "../../db/fixtures";
import { runAsMember } from "../../test/support/as-member";
import { createTestDatabase } from "../../test/support/database";
import { sqsClientFor, startSqs } from "../stack/sqs";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    queries: { type: "string", default: "300" },
    docs: { type: "string", default: "200" },
    sources: { type: "string", default: "20" },
  },
});
const sizes = values.sizes
  .split(",")
  .map(Number)
  .filter((n) => n > 0)
  .sort((a, b) => a - b);
const queries = Number(values.queries);
const docs = Number(values.docs);
const sourceCount = Math.max(1, Number(values.sources));

const VOCABULARY = (
  "order refund delivery parcel invoice warranty shipping return exchange voucher account password login store opening hours " +
  "price plan subscription discount customer support ticket payment card transfer bank holiday weekend express standard " +
  "tracking courier address postcode country island ferry air freight espresso machine descaling filter grinder milk frother " +
  "battery charger cable adapter screen keyboard mouse printer toner paper stapler desk chair lamp sofa table bed mattress"
).split(" ");

/** Deterministic pseudo-random text (mulberry32), so runs compare. */
function textGenerator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const sentence = () => {
    const words = Array.from({ length: 8 + Math.floor(next() * 10) }, () => VOCABULARY[Math.floor(next() * VOCABULARY.length)]!);
    return `${words.join(" ")}.`;
  };
  return {
    sentence,
    paragraph: (chars: number) => {
      let out = "";
      while (out.length < chars) out += `${sentence()} `;
      return out;
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (value: number) => `${value.toFixed(2)} ms`;

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), "bench-rag-"));
  const chroma = await startChroma({ dataDir, output: "quiet" });
  try {
    const store = KnowledgeStore.connect(chroma.url);
    const embeddings = new HashingEmbeddings();
    const text = textGenerator(42);

    // 1. Ingestion through the job's pipeline: one document at a time, then as many at once as the
    // pool's job consumer runs (their Chroma writes coalesce).
    const ingestScope = { tenantId: randomUUID(), knowledgeBaseId: randomUUID() };
    const splitter = new RecursiveCharacterTextSplitter({ chunkSize: 1000, chunkOverlap: 150 });
    for (const concurrency of [1, KNOWLEDGE_JOBS_PER_RECEIVE]) {
      let chunks = 0;
      let next = 0;
      const started = performance.now();
      const ingestOne = async () => {
        for (; next < docs;) {
          next++;
          const sourceId = randomUUID();
          const pieces = await splitter.splitText(text.paragraph(6000));
          const vectors = await embeddings.embedDocuments(pieces);
          await store.replaceSourceChunks(
            { ...ingestScope, sourceId },
            pieces.map((piece, i) => ({ id: `${sourceId}:${i}`, text: piece, embedding: vectors[i]!, chunkIndex: i })),
          );
          chunks += pieces.length;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, ingestOne));
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `ingestion, ${concurrency === 1 ? "one document at a time" : `${concurrency} at a time`}: ${docs} documents, ${chunks} chunks in ${seconds.toFixed(1)} s = ${(chunks / seconds).toFixed(0)} chunks/s (split + hashing embedding + Chroma write)`,
      );
    }
    await ingestThroughJobs(chroma.url, text);

    // 2. Retrieval at each size, in one tenant's knowledge base.
    const scope = { tenantId: randomUUID(), knowledgeBaseId: randomUUID() };
    const sourceIds = Array.from({ length: sourceCount }, () => randomUUID());
    let stored = 0;
    for (const size of sizes) {
      const fillStarted = performance.now();
      // Every source holds the same share of the base at every size.
      const perSource = Math.floor((size - stored) / sourceCount);
      for (const [index, sourceId] of sourceIds.entries()) {
        const target = index === sourceCount - 1 ? size - stored : perSource;
        for (let added = 0; added < target;) {
          const batch = Math.min(2000, target - added);
          const pieces = Array.from({ length: batch }, () => text.paragraph(600));
          const vectors = await embeddings.embedDocuments(pieces);
          // Bulk load: append without the per-source delete a real job does first.
          await store.appendSourceChunks(
            { ...scope, sourceId },
            pieces.map((piece, i) => ({ id: `${sourceId}:${stored + i}`, text: piece, embedding: vectors[i]!, chunkIndex: stored + i })),
          );
          stored += batch;
          added += batch;
        }
      }
      const count = await store.countChunks(scope);
      const fillSeconds = (performance.now() - fillStarted) / 1000;
      // As a turn makes them: an agent using every source of the base, and one using 2 of its
      // sources (a tenth of its chunks with the default 20), both as the store chooses (more
      // nearest chunks of the whole base, hits checked after), and the 2 sources through Chroma's
      // `source_id $in` pre-filter (the store's choice when their share is small or unknown).
      const two = sourceIds.slice(0, 2);
      for (const [label, ids, share] of [
        ["all sources", sourceIds, 1],
        [`2 sources (share ${(2 / sourceCount).toFixed(2)})`, two, 2 / sourceCount],
        ["2 sources, pre-filtered", two, undefined],
      ] as const) {
        const latencies: number[] = [];
        for (let q = 0; q < queries + 20; q++) {
          const query = text.sentence();
          const t0 = performance.now();
          const vector = await embeddings.embedQuery(query);
          const hits = await store.query({ ...scope, sourceIds: [...ids] }, vector, { nResults: 4, ...(share ? { share } : {}) });
          const elapsed = performance.now() - t0;
          if (hits.length === 0) throw new Error("retrieval returned nothing");
          if (q >= 20) latencies.push(elapsed); // the first 20 warm up
        }
        latencies.sort((a, b) => a - b);
        console.log(
          `retrieval at ${count} chunks, ${label} (loaded in ${fillSeconds.toFixed(1)} s): p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))} over ${latencies.length} queries (embed + top-4)`,
        );
      }
    }
  } finally {
    await chroma.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * 1b. The whole job: sources added through the admin verb, one ingest job each on the SQS
 * emulator's knowledge queue, and the pool's job consumer (receives of 10, the database reads and
 * writes of each job, the chunks' text recorded in the database) until every job has succeeded.
 */
async function ingestThroughJobs(chromaUrl: string, text: ReturnType<typeof textGenerator>) {
  const [database, sqs] = await Promise.all([createTestDatabase(), startSqs()]);
  const admin = createPoolDb(database.adminUrl, { max: 1 });
  const app = createPoolDb(database.appUrl, { max: KNOWLEDGE_JOBS_PER_RECEIVE });
  const client = sqsClientFor(sqs);
  try {
    const graph = buildTenantGraph();
    await insertTenantGraph(admin.db, graph);
    const base = await runAsMember(
      app.db,
      graph,
      createKnowledgeBase,
      createKnowledgeBaseInput.parse({ name: "Bench", embeddingModel: "hashing:v1-384" }),
    );
    const queue = createSqsKnowledgeJobQueue(sqsOverSdk(client), sqs.knowledgeJobsQueueUrl);
    for (let i = 0; i < docs; i++) {
      const source = await runAsMember(app.db, graph, addKnowledgeSource, {
        knowledgeBaseId: base.id,
        ...createSourceInput.parse({ name: `doc ${i}`, kind: "text", text: text.paragraph(6000) }),
      });
      await queue.enqueue({ kind: "knowledge.ingest", tenantId: graph.tenant.id, sourceId: source.id });
    }
    const logger = createLogger({ bench: "rag" }, "error");
    let done = 0;
    let failed = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const consumer = createKnowledgeJobConsumer({
      sqs: client,
      queueUrl: sqs.knowledgeJobsQueueUrl,
      deps: {
        db: app.db,
        store: KnowledgeStore.connect(chromaUrl),
        fetchUrl: () => Promise.reject(new Error("no URL sources in the benchmark")),
        embeddingCredentials: async () => ({}),
        logger,
      },
      logger,
      waitTimeSeconds: 1,
      onJob: (outcome) => {
        if (outcome === "succeeded") done++;
        else failed++;
        if (done === docs) finish();
      },
    });
    const started = performance.now();
    consumer.start();
    await finished;
    const seconds = (performance.now() - started) / 1000;
    consumer.stop();
    const [row] = (
      await admin.db.execute<{ chunks: number }>(sql`select coalesce(sum(chunk_count), 0)::int as chunks from knowledge_sources`)
    ).rows;
    const chunks = row!.chunks;
    console.log(
      `ingestion through the job consumer (${database.kind}): ${docs} jobs, ${chunks} chunks in ${seconds.toFixed(1)} s = ${(chunks / seconds).toFixed(0)} chunks/s (receive + database + split + hashing embedding + Chroma write + chunk text rows${failed ? `; ${failed} attempts failed and were retried` : ""})`,
    );
  } finally {
    client.destroy();
    await app.close();
    await admin.close();
    await sqs.stop();
    await database.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
