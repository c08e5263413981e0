/**
 * `npm run deploy:check`: bundles the edge worker for every environment of wrangler.toml exactly as
 * `wrangler deploy --dry-run` does (the same command, nothing uploaded), and fails when a bundle is
 * over the plan's compressed size limit or a binding the edge needs is missing. Part of `npm test`
 * (after the console's build, whose files are the worker's static assets).
 *
 * DEPLOY_PLAN=free checks against the Workers Free limit (3 MiB gzipped); the default is the paid
 * plan's 10 MiB.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "./local-stack";
import { OFFLINE_ENV, WRANGLER } from "./stack/edge";

/** Compressed script size limits of Cloudflare Workers, KiB. */
export const PLAN_LIMITS_KIB = { free: 3 * 1024, paid: 10 * 1024 } as const;

/** What every deployed edge needs besides its secrets: the rate limiter, the console's assets, the region and log level. */
export const REQUIRED_BINDINGS = ["WEBCHAT_LIMITER", "ASSETS", "SQS_REGION", "LOG_LEVEL"] as const;

export const ENVIRONMENTS = [undefined, "staging", "production"] as const;

export interface DryRun {
  uploadKiB: number;
  gzipKiB: number;
  bindings: string[];
}

/** Reads `Total Upload: X KiB / gzip: Y KiB` and the `env.NAME` lines of wrangler's binding table. */
export function parseDryRun(output: string): DryRun {
  const size = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
  if (!size) throw new Error(`wrangler printed no bundle size:\n${output.slice(-2000)}`);
  const bindings = [...output.matchAll(/^\s*env\.([A-Z0-9_]+)\b/gm)].map((match) => match[1]!);
  return { uploadKiB: Number(size[1]), gzipKiB: Number(size[2]), bindings };
}

/** The problems of one environment's dry run (empty: deployable). */
export function problemsOf(run: DryRun, limitKiB: number): string[] {
  const problems: string[] = [];
  if (run.gzipKiB > limitKiB) problems.push(`bundle is ${run.gzipKiB} KiB gzipped, over the plan's ${limitKiB} KiB`);
  for (const binding of REQUIRED_BINDINGS) if (!run.bindings.includes(binding)) problems.push(`binding ${binding} is missing`);
  return problems;
}

async function dryRun(environment: string | undefined): Promise<DryRun> {
  const outdir = await mkdtemp(join(tmpdir(), "deploy-check-"));
  try {
    const { stdout, stderr } = await promisify(execFile)(
      WRANGLER,
      ["deploy", "--dry-run", "--outdir", outdir, ...(environment ? ["--env", environment] : [])],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...OFFLINE_ENV, NO_COLOR: "1" }, maxBuffer: 16 * 1024 * 1024 },
    );
    return parseDryRun(`${stdout}\n${stderr}`);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const plan = process.env.DEPLOY_PLAN === "free" ? "free" : "paid";
  const limit = PLAN_LIMITS_KIB[plan];
  let failed = false;
  for (const environment of ENVIRONMENTS) {
    const run = await dryRun(environment);
    const problems = problemsOf(run, limit);
    failed ||= problems.length > 0;
    console.log(
      `${(environment ?? "default").padEnd(10)} ${run.uploadKiB.toFixed(0).padStart(6)} KiB, ${run.gzipKiB.toFixed(0).padStart(5)} KiB gzipped ` +
        `(${plan} plan limit ${limit} KiB), bindings: ${run.bindings.join(", ")}${problems.length ? `\n  ✗ ${problems.join("\n  ✗ ")}` : " ✓"}`,
    );
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
