/**
 * A load or fault run stops by itself: after `deadlineMs` (exit 1) or on Ctrl-C / SIGTERM
 * (exit 130), always running `cleanUp` first so no service it started is left behind.
 */
export function boundRun(name: string, deadlineMs: number, cleanUp: () => Promise<void>): void {
  const deadline = setTimeout(() => {
    console.error(`${name}: gave up (deadline)`);
    void cleanUp().finally(() => process.exit(1));
  }, deadlineMs);
  deadline.unref();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  }
}
