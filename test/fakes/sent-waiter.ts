/**
 * What the channel fakes share for "wait until N messages were sent": `sent()` wakes every waiter
 * to look again, and `waitFor` resolves with the messages once there are `count` of them, or fails
 * after `timeoutMs` saying what it waited for.
 */
export function sentWaiter() {
  const waiters = new Set<() => void>();
  return {
    sent(): void {
      for (const wake of [...waiters]) wake();
    },
    waitFor<T>(read: () => T[], count: number, timeoutMs: number, describe: (got: number) => string): Promise<T[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = read();
          if (found.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(describe(read().length)));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
