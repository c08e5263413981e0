import { describe, expect, it } from "vitest";
import { PLAN_LIMITS_KIB, parseDryRun, problemsOf } from "./deploy-check";

const OUTPUT = `✨ Read 9 files from the assets directory /work/workers/console/dist
Total Upload: 7884.26 KiB / gzip: 1193.39 KiB
Your Worker has access to the following bindings:
Binding                                       Resource
env.WEBCHAT_LIMITER (WebchatRateLimiter)      Durable Object
env.ASSETS                                    Assets
env.SQS_REGION ("eu-west-1")                  Environment Variable
env.LOG_LEVEL ("info")                        Environment Variable

--dry-run: exiting now.`;

describe("deploy:check", () => {
  it("reads wrangler's dry run: sizes and bindings", () => {
    expect(parseDryRun(OUTPUT)).toEqual({
      uploadKiB: 7884.26,
      gzipKiB: 1193.39,
      bindings: ["WEBCHAT_LIMITER", "ASSETS", "SQS_REGION", "LOG_LEVEL"],
    });
  });

  it("fails a bundle over the plan's limit and a missing binding", () => {
    const run = parseDryRun(OUTPUT);
    expect(problemsOf(run, PLAN_LIMITS_KIB.paid)).toEqual([]);
    expect(problemsOf({ ...run, gzipKiB: 3500 }, PLAN_LIMITS_KIB.free)).toEqual(["bundle is 3500 KiB gzipped, over the plan's 3072 KiB"]);
    expect(problemsOf({ ...run, bindings: run.bindings.filter((b) => b !== "WEBCHAT_LIMITER") }, PLAN_LIMITS_KIB.paid)).toEqual([
      "binding WEBCHAT_LIMITER is missing",
    ]);
  });

  it("refuses output without a size (wrangler failed to bundle)", () => {
    expect(() => parseDryRun("✘ [ERROR] Build failed")).toThrow(/no bundle size/);
  });
});
