/**
 * Finds the choices an agent offers at the end of its answer: two or three final lines that are
 * list items (`1. Yes`, `- No`, `• Maybe`) of at most 20 characters each, after some text. Channels
 * with buttons (WhatsApp) show them as buttons; others show the text as written.
 *
 * @example extractChoices("Shall I book it?\n1. Yes\n2. No") // { body: "Shall I book it?", options: ["Yes", "No"] }
 */
export function extractChoices(text: string): { body: string; options: string[] } | undefined {
  const lines = text.trimEnd().split("\n");
  const options: string[] = [];
  while (lines.length > 0) {
    const match = /^\s*(?:[-*•]|\d{1,2}[.)])\s+(.+?)\s*$/.exec(lines.at(-1)!);
    if (!match) break;
    options.unshift(match[1]!);
    lines.pop();
  }
  const body = lines.join("\n").trim();
  if (options.length < 2 || options.length > 3 || !body || body.length > 1024) return undefined;
  if (options.some((option) => option.length > 20) || new Set(options).size !== options.length) return undefined;
  return { body, options };
}
