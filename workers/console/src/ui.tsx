import { cloneElement, isValidElement, useId, type ReactElement, type ReactNode } from "react";
import { ApiProblem } from "./api/client";
import { useI18n } from "./i18n";

/** A panel: its heading, optional actions beside it, and content. */
export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title">{title}</h1>
        {actions ? <div className="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** The message of an API error's stable code (the catalogue's, else the API's own words), with its code. */
export function ErrorNotice({ error }: { error: unknown }) {
  const { errorMessage, t } = useI18n();
  if (!error) return null;
  if (error instanceof ApiProblem) {
    const message = errorMessage(error.reason ?? "") ?? errorMessage(error.code) ?? error.message;
    return (
      <p className="error" role="alert" data-code={error.reason ?? error.code}>
        {message} <code>{error.reason ?? error.code}</code>
      </p>
    );
  }
  return (
    <p className="error" role="alert">
      {t("error.network")}
    </p>
  );
}

/** The issue the API reported for `path` (or below it), if any. */
export function issueFor(error: unknown, path: string): string | undefined {
  if (!(error instanceof ApiProblem)) return undefined;
  return error.issues.find((issue) => issue.path === path || issue.path.startsWith(`${path}.`))?.message;
}

/**
 * A labelled form control with the API's issue for its field shown beneath it, tied to the control
 * with `aria-describedby` so screen readers announce it.
 */
export function Field({
  label,
  path,
  error,
  hint,
  children,
}: {
  label: string;
  /** The body path the API names in its issues (`name`, `settings.allowedOrigins`). */
  path?: string;
  error?: unknown;
  hint?: string;
  children: ReactElement<{ id?: string; "aria-invalid"?: boolean; "aria-describedby"?: string }>;
}) {
  const id = useId();
  const issue = path ? issueFor(error, path) : undefined;
  const describedBy = [hint ? `${id}-hint` : "", issue ? `${id}-issue` : ""].filter(Boolean).join(" ") || undefined;
  const control = isValidElement(children)
    ? cloneElement(children, {
        id,
        ...(issue ? { "aria-invalid": true } : {}),
        ...(describedBy ? { "aria-describedby": describedBy } : {}),
      })
    : children;
  return (
    <div className={issue ? "field invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {control}
      {hint ? (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      ) : null}
      {issue ? (
        <small id={`${id}-issue`} className="issue" data-field={path}>
          {issue}
        </small>
      ) : null}
    </div>
  );
}

/**
 * A form whose submit runs `onSubmit` without reloading the page. The browser's own validation is
 * off (`noValidate`): the API is the one judge of input, and its issues show next to the fields.
 */
export function Form({ onSubmit, className, children }: { onSubmit(): void; className?: string; children: ReactNode }) {
  return (
    <form
      className={className}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p className="muted" aria-live="polite">
      {t("common.loading")}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** Query states in one place: loading, the error notice, or the content. */
export function Loaded<T>({
  query,
  children,
}: {
  query: { data?: T; error: unknown; isPending: boolean };
  children: (data: T) => ReactNode;
}) {
  if (query.error) return <ErrorNotice error={query.error} />;
  if (query.isPending || query.data === undefined) return <Loading />;
  return <>{children(query.data)}</>;
}

/** A table's header row; `actions` adds a last column, named for screen readers only, for row buttons. */
export function TableHead({ columns, actions = false }: { columns: string[]; actions?: boolean }) {
  const { t } = useI18n();
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th key={column} scope="col">
            {column}
          </th>
        ))}
        {actions ? (
          <th scope="col">
            <span className="visually-hidden">{t("common.actions")}</span>
          </th>
        ) : null}
      </tr>
    </thead>
  );
}

export function Badge({ tone = "neutral", children }: { tone?: "neutral" | "good" | "warn" | "bad"; children: ReactNode }) {
  return <span className={`badge ${tone}`}>{children}</span>;
}
