import pg from "pg";

/** Statements named at most per process: bounds what each connection keeps prepared on the server. */
export const MAX_NAMED_STATEMENTS = 256;
/** Distinct statement texts counted at most per process (a dynamic query's shapes must not grow this without end). */
const MAX_COUNTED_TEXTS = 4_096;

/**
 * The statement texts this process names, and how often it has seen the others. A text is named
 * the second time it is seen (a one-off query is not worth a server-side slot), with `p<n>` in
 * the order they were named, so one name always means one text.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly limits: { maxNamed: number; maxCounted: number } = { maxNamed: MAX_NAMED_STATEMENTS, maxCounted: MAX_COUNTED_TEXTS },
  ) {}

  /** The name to prepare `text` under, or undefined to run it unnamed (seen once so far, or the limit reached). */
  nameFor(text: string): string | undefined {
    const named = this.names.get(text);
    if (named || this.names.size >= this.limits.maxNamed) return named;
    const count = this.seen.get(text);
    if (count === undefined) {
      if (this.seen.size < this.limits.maxCounted) this.seen.set(text, 1);
      return undefined;
    }
    this.seen.delete(text);
    const name = `p${this.names.size + 1}`;
    this.names.set(text, name);
    return name;
  }

  get size(): number {
    return this.names.size;
  }
}

/**
 * A node-postgres `Client` whose repeated parameterised statements are prepared by name: the
 * server parses them once per connection (node-postgres remembers which names a connection has
 * parsed) and, after a few runs, reuses their plan, and each run sends only Bind and Execute
 * instead of the statement's text. A turn runs the same sixteen statements every time; naming
 * them took about a tenth off the CPU of both the pool and PostgreSQL per turn (docs/performance.md).
 * node-postgres has no such option and drizzle prepares only what each call site names, so this
 * is the driver's `Client` with one override.
 *
 * Not for a connection whose session other connections share (PGlite through pglite-socket: a
 * name would already exist for the next process) nor behind a pooler in transaction mode that
 * does not carry prepared statements across server connections (`DATABASE_PREPARED_STATEMENTS=off`).
 */
export function clientNamingStatements(names: StatementNames = new StatementNames()): typeof pg.Client {
  return class NamingClient extends pg.Client {
    // node-postgres's overloads (text or config, values, callback) are all passed through; only a
    // config object with values and no name of its own gets one.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    override query(config: any, values?: any, callback?: any): any {
      if (
        config &&
        typeof config === "object" &&
        typeof config.text === "string" &&
        config.name === undefined &&
        typeof config.submit !== "function"
      ) {
        const parameters = Array.isArray(values) ? values : config.values;
        if (Array.isArray(parameters) && parameters.length > 0) {
          const name = names.nameFor(config.text);
          if (name) config = { ...config, name };
        }
      }
      return super.query(config, values, callback);
    }
  } as typeof pg.Client;
}
