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
    return { name, ok: false, detail: providerWords(describe, error) };
  }
}

/** The provider's own words for an error (its client's description, else the message), at most 300 characters. */
export function providerWords(describe: (error: unknown) => string | undefined, error: unknown): string {
  return describe(error) ?? (error instanceof Error ? error.message.slice(0, 300) : "unknown error");
}
