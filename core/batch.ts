/**
 * What one entry of a batch call says: nothing when it succeeded, or why it failed (the other
 * entries of the call are unaffected).
 */
export type BatchEntryResult = Error | undefined;

/**
 * Coalesces calls to a service that takes many items per request: one request at a time, and the
 * items asked for while it runs go together in the next (up to `max` a request). Nothing waits for
 * a batch to fill, so a quiet caller is served at once and a busy one makes one request per many
 * items instead of one per item; a finished request holds the next for one turn of the event loop
 * (`setImmediate`), long enough for the callers it resumed to add their next items. `send`
 * returns one result per item (in order) or nothing when all succeeded; if it throws, every item
 * of that request rejects with the error, and the next request goes ahead. Hand-written: DataLoader and its kin batch per event-loop tick, not "while the
 * previous request runs", which is what a service that serialises its writes anyway rewards.
 *
 * @example const remove = whileBusy<string>((handles) => deleteMany(handles), { max: 10 });
 * await remove(handle);
 */
export function whileBusy<T>(
  send: (items: T[]) => Promise<BatchEntryResult[] | void>,
  options: { max: number },
): (item: T) => Promise<void> {
  const waiting: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  let inFlight = false;
  const pump = async () => {
    if (inFlight || waiting.length === 0) return;
    inFlight = true;
    const batch = waiting.splice(0, options.max);
    try {
      const results = await send(batch.map((entry) => entry.item));
      batch.forEach((entry, index) => {
        const failure = results?.[index];
        if (failure) entry.reject(failure);
        else entry.resolve();
      });
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      // The next request waits one turn of the event loop, so the callers this one resumed can
      // join it with their next items rather than follow in a request of their own.
      setImmediate(() => {
        inFlight = false;
        void pump();
      });
    }
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      void pump();
    });
}
