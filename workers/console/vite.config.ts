import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

/**
 * The console is served by the edge worker as static assets (`[assets]` in wrangler.toml) at
 * `/console/`, on the same origin as `/v1`: built into `dist/console/` so the assets directory's
 * paths are the URL paths. `npm run build:console` builds it and checks the first-load budget.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("./dist/console", import.meta.url)),
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    target: "es2022",
  },
  logLevel: "warn",
});
