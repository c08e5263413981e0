import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { processTable } from "../stack/child";

/** CPU seconds used so far, by part of the local stack (Linux: /proc; elsewhere every figure is NaN). */
export interface CpuSample {
  /** The edge's workerd processes. */
  workerd: number;
  /** The edge runner's own processes (its Node process with Miniflare): not in production. */
  edgeOther: number;
  /** Every pool process. */
  pool: number;
  chroma: number;
  /** Every `postgres` process on the machine (PostgreSQL only; PGlite runs in this process). */
  postgres: number;
  /** This process: the benchmark's clients, the SQS emulator, the channel fakes, PGlite's thread. */
  self: number;
  /** The whole machine, busy and in all (every core), from /proc/stat. */
  machineBusy: number;
  machineTotal: number;
}

type CpuPart = keyof CpuSample;

/** Linux's USER_HZ, the unit of /proc/stat: 100 on every mainstream kernel. */
const TICKS_PER_SECOND = 100;

/** The process groups the stack's services lead (scripts/stack/child.ts spawns each as a group leader). */
export interface StackGroups {
  edge: number;
  pools: number[];
  chroma?: number | undefined;
}

export function sampleCpu(groups: StackGroups): CpuSample {
  if (!existsSync("/proc/stat")) {
    return { workerd: NaN, edgeOther: NaN, pool: NaN, chroma: NaN, postgres: NaN, self: NaN, machineBusy: NaN, machineTotal: NaN };
  }
  const usage = process.cpuUsage();
  const sample: CpuSample = {
    workerd: 0,
    edgeOther: 0,
    pool: 0,
    chroma: 0,
    postgres: 0,
    self: (usage.user + usage.system) / 1e6,
    machineBusy: 0,
    machineTotal: 0,
  };
  const pools = new Set(groups.pools);
  for (const entry of processTable()) {
    if (entry.pgrp === groups.edge) sample[entry.comm === "workerd" ? "workerd" : "edgeOther"] += entry.cpuSeconds;
    else if (pools.has(entry.pgrp)) sample.pool += entry.cpuSeconds;
    else if (groups.chroma !== undefined && entry.pgrp === groups.chroma) sample.chroma += entry.cpuSeconds;
    else if (entry.comm === "postgres") sample.postgres += entry.cpuSeconds;
  }
  // "cpu  user nice system idle iowait irq softirq steal ...": idle and iowait are the idle time.
  const ticks = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  sample.machineTotal = total / TICKS_PER_SECOND;
  sample.machineBusy = (total - ticks[3]! - ticks[4]!) / TICKS_PER_SECOND;
  return sample;
}

/** What each part used between two samples, in CPU seconds. */
export function cpuUsed(before: CpuSample, after: CpuSample): CpuSample {
  return Object.fromEntries(
    Object.keys(before).map((key) => [key, after[key as CpuPart] - before[key as CpuPart]]),
  ) as unknown as CpuSample;
}

/** Cores the machine's busy share is counted against (the kernel's count, as /proc/stat sums them). */
export const CORES = availableParallelism();
