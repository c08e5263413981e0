import { desc, type SQL, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { fromBase64, toBase64Url, utf8 } from "../crypto/encoding";
import { InvalidRequestError } from "../errors";

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

/** A page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageInput {
  limit?: number;
  cursor?: string;
}

/**
 * Keyset pagination, newest first, over `(created_at, id)`. The cursor carries the timestamp as
 * PostgreSQL printed it (microseconds; a JS Date would round to milliseconds and repeat or skip
 * rows) and the id, base64url-encoded JSON, opaque to callers.
 */
interface Cursor {
  t: string;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return toBase64Url(utf8.encode(JSON.stringify(cursor)));
}

export function decodeCursor(text: string): Cursor {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(fromBase64(text))) as Partial<Cursor>;
    if (typeof parsed.t === "string" && typeof parsed.id === "string" && /^[0-9a-f-]{36}$/i.test(parsed.id) && parsed.t.length < 64) {
      return { t: parsed.t, id: parsed.id };
    }
  } catch {
    // fall through
  }
  throw new InvalidRequestError("The cursor is not one this API returned.");
}

/**
 * The pieces of a keyset query: the WHERE fragment after the cursor, the ORDER BY, the LIMIT
 * (one more than asked, to know whether there is a next page) and the cursor column to select.
 */
export function keyset(columns: { createdAt: PgColumn; id: PgColumn }, input: PageInput) {
  const limit = Math.min(Math.max(input.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
  let after: SQL | undefined;
  if (input.cursor) {
    const cursor = decodeCursor(input.cursor);
    after = sql`(${columns.createdAt}, ${columns.id}) < (${cursor.t}::timestamptz, ${cursor.id}::uuid)`;
  }
  return {
    after,
    orderBy: [desc(columns.createdAt), desc(columns.id)],
    fetch: limit + 1,
    cursorColumn: sql<string>`${columns.createdAt}::text`,
    /** Cuts the extra row and builds the page. */
    page<T extends { id: string; cursorAt: string }, O>(rows: T[], map: (row: T) => O): Page<O> {
      const more = rows.length > limit;
      const kept = more ? rows.slice(0, limit) : rows;
      const last = kept[kept.length - 1];
      return { data: kept.map(map), nextCursor: more && last ? encodeCursor({ t: last.cursorAt, id: last.id }) : null };
    },
  };
}
