/**
 * Prometheus histograms read back from a `/metrics` page, for benchmarks that report what a run
 * added: parse two scrapes, subtract, and estimate quantiles the way PromQL's
 * `histogram_quantile` does (linear within the bucket). Hand-written: prom-client only writes this
 * format, and the benchmark needs no more of it than the `_bucket`, `_sum` and `_count` lines.
 */
export interface Histogram {
  /** Cumulative counts by upper bound, ascending, ending with +Inf. */
  buckets: Array<[upperBound: number, count: number]>;
  sum: number;
  count: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)$/;

/** The histogram `name`'s series grouped by the value of label `by` (all series merged when absent). */
export function readHistograms(text: string, name: string, by?: string): Map<string, Histogram> {
  const found = new Map<string, { buckets: Map<number, number>; sum: number; count: number }>();
  for (const line of text.split("\n")) {
    const match = LINE.exec(line.trim());
    if (!match) continue;
    const [, metric, labelText = "", raw] = match;
    const suffix =
      metric === `${name}_bucket` ? "bucket" : metric === `${name}_sum` ? "sum" : metric === `${name}_count` ? "count" : undefined;
    if (!suffix) continue;
    const labels = Object.fromEntries([...labelText.matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    const key = by ? (labels[by] ?? "") : "";
    const entry = found.get(key) ?? { buckets: new Map<number, number>(), sum: 0, count: 0 };
    found.set(key, entry);
    const value = Number(raw);
    if (suffix === "bucket") {
      const bound = labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels.le);
      entry.buckets.set(bound, (entry.buckets.get(bound) ?? 0) + value);
    } else entry[suffix] += value;
  }
  return new Map(
    [...found].map(([key, entry]) => [
      key,
      { buckets: [...entry.buckets].sort((a, b) => a[0] - b[0]), sum: entry.sum, count: entry.count },
    ]),
  );
}

/** What happened between two scrapes of the same histogram. */
export function difference(after: Histogram, before: Histogram | undefined): Histogram {
  if (!before) return after;
  const earlier = new Map(before.buckets);
  return {
    buckets: after.buckets.map(([bound, count]) => [bound, count - (earlier.get(bound) ?? 0)]),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** The `q` quantile (0..1), interpolated within its bucket; NaN when nothing was observed. */
export function quantile(histogram: Histogram, q: number): number {
  if (histogram.count <= 0) return Number.NaN;
  const rank = q * histogram.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of histogram.buckets) {
    if (count >= rank) {
      // Like histogram_quantile: the +Inf bucket answers with the highest finite bound.
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

export function mean(histogram: Histogram): number {
  return histogram.count > 0 ? histogram.sum / histogram.count : Number.NaN;
}
