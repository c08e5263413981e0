import { useInfiniteQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { useI18n } from "../i18n";
import { ErrorNotice, Loading, Page, TableHead } from "../ui";

/** The audit log, newest first, a page at a time (`nextCursor`). */
export function AuditPanel() {
  const { t, formatDate } = useI18n();
  const log = useInfiniteQuery({
    queryKey: ["audit-log"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/v1/audit-log", { params: { query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const records = log.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <Page title={t("audit.title")}>
      <ErrorNotice error={log.error} />
      {log.isPending ? <Loading /> : null}
      <table>
        <TableHead columns={[t("common.when"), t("audit.actor"), t("audit.action"), t("audit.resource")]} />
        <tbody>
          {records.map((record) => (
            <tr key={record.id}>
              <td>{formatDate(record.createdAt)}</td>
              <td>
                {record.actor.type}:{record.actor.id.slice(0, 8)}
              </td>
              <td>
                <code>{record.action}</code>
              </td>
              <td>
                {record.resourceType}
                {record.resourceId ? ` ${record.resourceId.slice(0, 8)}` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {log.hasNextPage ? (
        <button onClick={() => void log.fetchNextPage()} disabled={log.isFetchingNextPage}>
          {t("common.more")}
        </button>
      ) : null}
    </Page>
  );
}
