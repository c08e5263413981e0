/**
 * The new text of a reply: the quoted history and the signature removed, so the agent reads what
 * the person wrote this time, not the whole thread again. Line by line with string tests only:
 * the published reply parsers match attacker-written mail with backtracking regular expressions
 * (`On\s.+\s.+\n?wrote:` is quadratic on a long line), and this runs at the edge on every message.
 *
 * Cut at the first line that starts quoted history:
 * - an attribution line: Gmail and Apple Mail `On <date>, <name> wrote:` (also when the client
 *   wrapped it onto two lines) and its French, German, Spanish, Italian, Portuguese and Dutch forms;
 * - Outlook's `-----Original Message-----`, its `________________________________` rule, and a
 *   `From:` line followed within four lines by `Sent:`/`Date:` and `To:`/`Subject:` (desktop Outlook's header block);
 * - a `-- ` signature separator; a `Sent from my …` / `Get Outlook for …` line ends the text too.
 * Lines quoted with `>` are dropped wherever they are (bottom-posting keeps the text after them).
 * If nothing is left (a reply that only quotes), the original text is kept rather than nothing.
 */
export function stripQuotedReply(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (startsHistory(lines, i) || trimmed === "--" || line === "-- " || isDeviceFooter(trimmed)) break;
    if (trimmed.startsWith(">")) continue;
    kept.push(line);
  }
  const result = kept.join("\n").trim();
  return result === "" ? text.trim() : result;
}

const ATTRIBUTION_ENDINGS = ["wrote:", "a écrit :", "a écrit:", "escribió:", "ha scritto:", "scritto:", "escreveu:", "schreef:"];
const ATTRIBUTION_STARTS = ["On ", "Le ", "El ", "Il ", "Em ", "Op ", "Am ", "In data "];

function startsHistory(lines: string[], i: number): boolean {
  const line = lines[i]!.trim();
  if (line.startsWith("-----Original Message-----") || line.startsWith("----- Original Message -----")) return true;
  if (/^_{20,}$/.test(line)) return true;
  if (ATTRIBUTION_STARTS.some((start) => line.startsWith(start))) {
    // The attribution may wrap: the ending is on this line or the next.
    const joined = `${line} ${(lines[i + 1] ?? "").trim()}`;
    if (ATTRIBUTION_ENDINGS.some((end) => line.endsWith(end) || joined.endsWith(end))) return true;
    if (line.startsWith("Am ") && (line.includes(" schrieb ") || joined.includes(" schrieb ")) && joined.endsWith(":")) return true;
  }
  if (/^\*?(From|Von|De|Da|Van):\*? /.test(line)) {
    const next = lines.slice(i + 1, i + 5).map((l) => l.trim());
    const dated = next.some((l) => /^\*?(Sent|Date|Gesendet|Envoyé|Enviado|Inviato|Verzonden):\*? /.test(l));
    const addressed = next.some((l) => /^\*?(To|Subject|An|Betreff|À|Objet|Para|Asunto|A|Oggetto|Aan|Onderwerp):\*? /.test(l));
    return dated && addressed;
  }
  return false;
}

function isDeviceFooter(line: string): boolean {
  return /^(Sent from my |Sent from Mail for |Get Outlook for |Envoyé de mon |Von meinem .* gesendet$|Enviado desde mi )/.test(line);
}
