import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, ErrorNotice, Field, Loaded, Page, TableHead, Form } from "../ui";
import { RoleOptions } from "./users";

/** API keys: the secret is shown once, when created; lists show only its prefix. */
export function ApiKeysPanel() {
  const { t, formatDate } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: () => unwrap(api.GET("/v1/api-keys", { params: { query: { limit: 100 } } })) });
  const [name, setName] = useState("");
  const [roleId, setRoleId] = useState("");
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/api-keys", { body: { name, roleId } })),
    onSuccess: () => {
      setName("");
      void queryClient.invalidateQueries({ queryKey: ["api-keys"] });
    },
  });
  const revoke = useMutation({
    mutationFn: (apiKeyId: string) => unwrap(api.DELETE("/v1/api-keys/{apiKeyId}", { params: { path: { apiKeyId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  return (
    <Page title={t("apiKeys.title")}>
      {can("users:write") ? (
        <Form className="card row" onSubmit={() => create.mutate()}>
          <Field label={t("common.name")} path="name" error={create.error}>
            <input value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label={t("users.role")} path="roleId" error={create.error}>
            <select value={roleId} onChange={(e) => setRoleId(e.target.value)}>
              <option value="">{t("common.choose")}</option>
              <RoleOptions />
            </select>
          </Field>
          <button type="submit" disabled={create.isPending}>
            {t("apiKeys.create")}
          </button>
          <ErrorNotice error={create.error} />
        </Form>
      ) : null}
      {create.data ? (
        <div className="card notice" role="status">
          <p>{t("apiKeys.shownOnce")}</p>
          <code className="secret" data-testid="new-api-key">
            {create.data.key}
          </code>
        </div>
      ) : null}
      <ErrorNotice error={revoke.error} />
      <Loaded query={keys}>
        {(page) => (
          <table>
            <TableHead columns={[t("common.name"), t("apiKeys.prefix"), t("users.role"), t("apiKeys.lastUsed")]} actions />
            <tbody>
              {page.data.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}</code>
                  </td>
                  <td>{key.role.name}</td>
                  <td>{key.lastUsedAt ? formatDate(key.lastUsedAt) : "—"}</td>
                  <td>
                    {key.revokedAt ? (
                      <Badge tone="bad">{t("apiKeys.revoked")}</Badge>
                    ) : can("users:delete") ? (
                      <button className="small danger" onClick={() => revoke.mutate(key.id)}>
                        {t("apiKeys.revoke")}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </Page>
  );
}
