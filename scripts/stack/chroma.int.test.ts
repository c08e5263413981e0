import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChromaClient } from "chromadb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { livePidsInGroup } from "./child";
import { startChroma, type ChromaHandle } from "./chroma";

describe("chroma server (binding 1.0.5) on 127.0.0.1", () => {
  let chroma: ChromaHandle;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "chroma-int-"));
    chroma = await startChroma({ dataDir, output: "quiet" });
  });
  afterAll(async () => {
    await chroma?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("stores and queries vectors with the chromadb 3.x client", async () => {
    const client = new ChromaClient({ host: chroma.host, port: chroma.port, ssl: false });
    const name = `t_${Date.now()}`;
    const collection = await client.createCollection({ name, embeddingFunction: null });
    try {
      await collection.add({
        ids: ["doc-a", "doc-b"],
        embeddings: [
          [1, 0, 0],
          [0, 1, 0],
        ],
        documents: ["about apples", "about bicycles"],
        metadatas: [{ tenant: "t1" }, { tenant: "t1" }],
      });
      expect(await collection.count()).toBe(2);
      const result = await collection.query({ queryEmbeddings: [[0.9, 0.1, 0]], nResults: 1 });
      expect(result.ids).toEqual([["doc-a"]]);
      expect(result.documents).toEqual([["about apples"]]);
    } finally {
      await client.deleteCollection({ name });
    }
    const names = (await client.listCollections()).map((c) => c.name);
    expect(names).not.toContain(name);
  });

  it("listens on loopback only", async () => {
    const reachable = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ host, port: chroma.port }).once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(false));
      });
    expect(await reachable("127.0.0.1")).toBe(true);
    expect(await reachable("::1")).toBe(false);
  });

  it("stops the whole process group", async () => {
    await chroma.stop();
    expect(livePidsInGroup(chroma.pid)).toEqual([]);
    await expect(fetch(`${chroma.url}/api/v2/heartbeat`)).rejects.toThrow();
  });
});
