// Child-process entry for the Chroma server: `node chroma-process.mjs DATA_DIR PORT`.
// The binding's cli() runs the Rust server on this thread and never returns, so it gets a
// process of its own; scripts/stack/chroma.ts starts and stops it.
// Plain JavaScript: bare `node` starts faster than tsx and needs no loader.
import { createRequire } from "node:module";
import process from "node:process";

const [dataDir, port] = process.argv.slice(2);
if (!dataDir || !port) {
  process.stderr.write("usage: node chroma-process.mjs DATA_DIR PORT\n");
  process.exit(2);
}
// 1.0.5 exactly: later builds need glibc 2.38 (see ARCHITECTURE.md).
const { cli } = createRequire(import.meta.url)("chromadb-js-bindings-linux-x64-gnu");
cli(["chroma", "run", "--path", dataDir, "--host", "127.0.0.1", "--port", port]);
