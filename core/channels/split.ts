/**
 * Splits a reply into parts of at most `limit` characters (UTF-16 code units, as Telegram and
 * WhatsApp count), cutting at the last paragraph break, else line break, else space, in the second
 * half of a part; a word longer than that is cut where it must be. No part is empty, no surrogate
 * pair is cut in two, and joining the parts gives back the text up to the whitespace at the cuts.
 *
 * Hand-written on purpose (30 lines, tested in split.test.ts): @langchain/textsplitters'
 * RecursiveCharacterTextSplitter, used for knowledge chunks, is asynchronous, merges pieces back
 * with its separator (so the parts no longer join to the original text), and its last-resort
 * character split cuts UTF-16 code units, which can break an emoji's surrogate pair in two.
 *
 * @example splitText("a".repeat(10_000), 4096).map((p) => p.length) // [4096, 4096, 1808]
 */
export function splitText(text: string, limit: number): string[] {
  if (limit < 2) throw new Error("splitText: limit must be at least 2");
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit);
    let cut = -1;
    for (const separator of ["\n\n", "\n", " "]) {
      const at = window.lastIndexOf(separator);
      if (at >= limit / 2) {
        cut = at;
        break;
      }
    }
    if (cut === -1) {
      cut = limit;
      // Never leave half of a surrogate pair at the end of a part.
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    }
    const part = rest.slice(0, cut).trimEnd();
    if (part) parts.push(part);
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}
