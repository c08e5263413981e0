/**
 * `npm run reindex [-- --tenant <uuid>]`
 *
 * Rebuilds Chroma from the database, which is the record: every knowledge base's collection from
 * its stored chunks (embedded again with the base's model) and every tenant's conversation memory
 * from its answered turns, each collection dropped first. After `npm run restore`, a lost Chroma
 * volume or a move to another Chroma server. Uses `DATABASE_URL` (owner), `CHROMA_URL` and
 * `SECRETS_KEYRING` (tenants' own embedding keys) when set, else the running `npm start`'s.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MultiBar, Presets } from "cli-progress";
import { parseKeyring } from "../core/crypto/secrets";
import { readModelEnvironment } from "../core/engine/providers";
import { reindex } from "../core/knowledge/reindex";
import { KnowledgeStore } from "../core/knowledge/store";
import { createPoolDb } from "../db/client";
import { embeddingCredentialsFrom } from "../workers/pool/knowledge";
import { loadOrCreateKeys } from "./local-keys";
import { PROJECT_ROOT } from "./local-stack";
import { ownerDatabaseUrl, runningStack } from "./stack/cli";

async function main() {
  const { values } = parseArgs({ options: { tenant: { type: "string", multiple: true } } });
  const stack = await runningStack();
  const chromaUrl = process.env.CHROMA_URL || stack?.chromaUrl;
  if (!chromaUrl) throw new Error("no Chroma: start the stack (npm start) or set CHROMA_URL");
  const keyring = parseKeyring(
    process.env.SECRETS_KEYRING || (await loadOrCreateKeys(join(PROJECT_ROOT, ".data", "keys.json"))).SECRETS_KEYRING,
  );
  const handle = createPoolDb(await ownerDatabaseUrl(), { max: 2, applicationName: "agent-platform-reindex" });
  const bars = new MultiBar(
    {
      format: " {phase} {tenant} [{bar}] {value}/{total}",
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: true,
      notTTYSchedule: 5_000,
    },
    Presets.shades_classic,
  );
  const outcome = await (async () => {
    try {
      let bar: ReturnType<MultiBar["create"]> | undefined;
      let current = "";
      const outcome = await reindex(
        {
          db: handle.db,
          store: KnowledgeStore.connect(chromaUrl),
          embeddingCredentials: embeddingCredentialsFrom(handle.db, keyring, readModelEnvironment(process.env)),
        },
        {
          ...(values.tenant?.length ? { tenantIds: values.tenant } : {}),
          onProgress: ({ tenantId, phase, done, total }) => {
            const key = `${tenantId}:${phase}`;
            if (key !== current) {
              bar?.stop();
              current = key;
              bar = bars.create(total, done, { phase: phase === "knowledge" ? "chunks" : "memory", tenant: tenantId.slice(0, 8) });
            }
            bar?.update(done);
          },
        },
      );
      return outcome;
    } finally {
      bars.stop();
      await handle.close();
    }
  })();
  console.log(
    `Reindexed ${outcome.tenants} tenants: ${outcome.knowledgeBases} knowledge bases (${outcome.chunks} chunks) and ${outcome.turns} remembered turns.`,
  );
}

main().catch((error) => {
  console.error(`reindex: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
