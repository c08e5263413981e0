import { parse as parseCsv } from "csv-parse/sync";
import { convert as htmlToText } from "html-to-text";
import mammoth from "mammoth";
import { PDFParse } from "pdf-parse";
import type { KnowledgeSourceKind } from "../../db/schema";

/** A source whose content cannot be used (corrupt file, nothing to index, refused URL): status `failed` with this message. */
export class IngestError extends Error {
  readonly code = "INGEST_FAILED";
}

/**
 * Plain text from a source's bytes, with maintained parsers: pdf-parse (pdf.js) for PDF, mammoth
 * for DOCX, html-to-text for HTML, csv-parse for CSV (one line per row, `column: value` pairs so a
 * chunk keeps its headers). Text and Markdown are UTF-8 as they are. Throws `IngestError` with a
 * message a person can act on.
 */
export async function extractText(kind: Exclude<KnowledgeSourceKind, "url">, bytes: Uint8Array): Promise<string> {
  let text: string;
  switch (kind) {
    case "text":
    case "markdown":
      text = decodeUtf8(bytes);
      break;
    case "html":
      text = htmlToText(decodeUtf8(bytes), {
        wordwrap: false,
        selectors: [
          { selector: "a", options: { ignoreHref: true } },
          { selector: "img", format: "skip" },
        ],
      });
      break;
    case "pdf":
      text = await extractPdf(bytes);
      break;
    case "docx":
      try {
        text = (await mammoth.extractRawText({ buffer: Buffer.from(bytes) })).value;
      } catch {
        throw new IngestError("the DOCX file could not be read: it is damaged or not a Word document");
      }
      break;
    case "csv":
      text = extractCsv(decodeUtf8(bytes));
      break;
  }
  if (!text.trim()) throw new IngestError(`the ${kind.toUpperCase()} file contains no text to index`);
  return text;
}

async function extractPdf(bytes: Uint8Array): Promise<string> {
  const parser = new PDFParse({ data: new Uint8Array(bytes), verbosity: 0 });
  try {
    const result = await parser.getText();
    return result.text;
  } catch (error) {
    const reason = error instanceof Error && /password/i.test(error.message) ? "it is password-protected" : "it is damaged or not a PDF";
    throw new IngestError(`the PDF file could not be read: ${reason}`);
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}

function extractCsv(text: string): string {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, relax_column_count: true, bom: true, trim: true }) as Record<
      string,
      string
    >[];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new IngestError(`the CSV file could not be parsed${line ? ` (near line ${line})` : ""}: check its quoting and delimiters`);
  }
  return rows
    .map((row) =>
      Object.entries(row)
        .filter(([, value]) => value !== "" && value != null)
        .map(([column, value]) => `${column}: ${value}`)
        .join("; "),
    )
    .join("\n");
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new IngestError("the file is not valid UTF-8 text");
  }
}

/** The kind an HTTP content type stands for, for URL sources. */
export function kindOfContentType(contentType: string | null): Exclude<KnowledgeSourceKind, "url"> | undefined {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "text/html" || type === "application/xhtml+xml") return "html";
  if (type === "application/pdf") return "pdf";
  if (type === "application/vnd.openxmlformats-officedocument.wordprocessingml.document") return "docx";
  if (type === "text/csv") return "csv";
  if (type === "text/markdown") return "markdown";
  if (type.startsWith("text/") || type === "application/json" || type === "") return "text";
  return undefined;
}
