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

/**
 * A script that starts its own local stack, bounded by {@link boundRun}: `main` starts the stack
 * and hands it to `own`, so it is stopped however the run ends (done, failed, deadline, Ctrl-C).
 * Exits with `main`'s code, or 1 after printing why it threw.
 */
export async function runOwningStack(
  name: string,
  deadlineMs: number,
  main: (own: <T extends { stop(): Promise<unknown> }>(stack: T) => T) => Promise<number>,
): Promise<never> {
  let owned: { stop(): Promise<unknown> } | undefined;
  const stop = async () => {
    const running = owned;
    owned = undefined;
    await running?.stop();
  };
  boundRun(name, deadlineMs, stop);
  let code = 1;
  try {
    code = await main((stack) => (owned = stack));
  } catch (error) {
    console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  await stop();
  process.exit(code);
}
