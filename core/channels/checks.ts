import type { ChannelCheck } from "./adapter";

/**
 * Runs one check of `POST /v1/channels/:id/test`: ok with what `work` reports, or not ok with the
 * provider's words for the failure.
 */
export async function probe(
  name: string,
  work: () => Promise<string>,
  describe: (error: unknown) => string | undefined,
): Promise<ChannelCheck> {
  try {
    return { name, ok: true, detail: await work() };
  } catch (error) {
    return { name, ok: false, detail: describe(error) ?? (error instanceof Error ? error.message.slice(0, 300) : "unknown error") };
  }
}
