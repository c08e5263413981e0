/**
 * What a turn asks the knowledge bases, and which of the excerpts it was given the reply cites.
 * Kept apart from the pool so both rules are unit-tested on their own.
 */

/** A message of fewer words than this is taken as a follow-up that needs the previous question. */
const FOLLOW_UP_WORDS = 8;

/**
 * The text to retrieve with. A follow-up such as "and to Lisbon?" or "how much is it?" names no
 * topic of its own, so a short message is searched together with the person's previous message of
 * the same conversation (only the person's words: the assistant's reply is not evidence of what
 * they want, and a prompt-injected reply must not steer retrieval).
 */
export function retrievalQuery(text: string, history: ReadonlyArray<{ role: "user" | "assistant"; content: string }>): string {
  const current = text.trim();
  const words = current.split(/\s+/).filter(Boolean).length;
  if (words >= FOLLOW_UP_WORDS) return current;
  const previous = [...history].reverse().find((message) => message.role === "user" && message.content.trim());
  return previous ? `${previous.content.trim().slice(0, 2000)}\n${current}` : current;
}

/**
 * The excerpt numbers a reply cites as `[n]` (also `[1, 3]`, `[1][2]` and `[2-3]`), among the
 * `count` excerpts it was given; numbers outside 1..count (a model inventing `[7]`) are dropped.
 */
export function citedExcerpts(reply: string, count: number): number[] {
  const cited = new Set<number>();
  for (const match of reply.matchAll(/\[(\d{1,3}(?:\s*[-–,]\s*\d{1,3})*)\]/g)) {
    for (const part of match[1]!.split(",")) {
      const [from, to] = part.split(/[-–]/).map((value) => Number(value.trim()));
      const last = to ?? from!;
      for (let n = from!; n <= last && n - from! < 50; n++) if (n >= 1 && n <= count) cited.add(n);
    }
  }
  return [...cited].sort((a, b) => a - b);
}
