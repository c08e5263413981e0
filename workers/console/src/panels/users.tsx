import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, ErrorNotice, Field, Loaded, Page, TableHead, Form } from "../ui";

/** The tenant's roles as `<option>`s (for role pickers). */
export function RoleOptions() {
  const roles = useRoles();
  return (
    <>
      {(roles.data?.data ?? []).map((role) => (
        <option key={role.id} value={role.id}>
          {role.name}
        </option>
      ))}
    </>
  );
}

export function useRoles() {
  return useQuery({ queryKey: ["roles"], queryFn: () => unwrap(api.GET("/v1/roles", { params: { query: { limit: 100 } } })) });
}

/** Users and their roles, invitations, and the roles themselves. */
export function UsersPanel() {
  const { t, formatDate } = useI18n();
  const { can, data: me } = useMe();
  const queryClient = useQueryClient();
  const users = useQuery({ queryKey: ["users"], queryFn: () => unwrap(api.GET("/v1/users", { params: { query: { limit: 100 } } })) });
  const invitations = useQuery({
    queryKey: ["invitations"],
    queryFn: () => unwrap(api.GET("/v1/invitations", { params: { query: { limit: 100 } } })),
  });
  const roles = useRoles();
  const writable = can("users:write");
  const changeRole = useMutation({
    mutationFn: (input: { userId: string; roleId: string }) =>
      unwrap(api.PATCH("/v1/users/{userId}", { params: { path: { userId: input.userId } }, body: { roleId: input.roleId } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["users"] }),
  });
  const remove = useMutation({
    mutationFn: (userId: string) => unwrap(api.DELETE("/v1/users/{userId}", { params: { path: { userId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["users"] }),
  });
  const withdraw = useMutation({
    mutationFn: (invitationId: string) => unwrap(api.DELETE("/v1/invitations/{invitationId}", { params: { path: { invitationId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["invitations"] }),
  });

  return (
    <Page title={t("users.title")}>
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">{t("users.members")}</h2>
        <ErrorNotice error={changeRole.error ?? remove.error} />
        <Loaded query={users}>
          {(page) => (
            <table>
              <TableHead columns={[t("users.email"), t("users.role"), t("users.joined")]} actions />
              <tbody>
                {page.data.map((user) => (
                  <tr key={user.id}>
                    <td>
                      {user.email}
                      {user.name ? <span className="muted"> · {user.name}</span> : null}
                    </td>
                    <td>
                      {writable && user.id !== me?.actor.id ? (
                        <select
                          aria-label={t("users.roleOf", { email: user.email })}
                          value={user.role.id}
                          onChange={(e) => changeRole.mutate({ userId: user.id, roleId: e.target.value })}
                        >
                          <RoleOptions />
                        </select>
                      ) : (
                        user.role.name
                      )}
                    </td>
                    <td>{formatDate(user.joinedAt)}</td>
                    <td>
                      {can("users:delete") && user.id !== me?.actor.id ? (
                        <button className="small danger" onClick={() => remove.mutate(user.id)}>
                          {t("users.remove")}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Loaded>
      </section>

      <section className="card" aria-labelledby="invitations-title">
        <h2 id="invitations-title">{t("users.invitations")}</h2>
        {writable ? <Invite /> : null}
        <ErrorNotice error={withdraw.error} />
        <Loaded query={invitations}>
          {(page) => (
            <table>
              <TableHead columns={[t("users.email"), t("users.role"), t("common.status"), t("users.expires")]} actions />
              <tbody>
                {page.data.map((invitation) => (
                  <tr key={invitation.id}>
                    <td>{invitation.email}</td>
                    <td>{invitation.role.name}</td>
                    <td>
                      <Badge tone={invitation.status === "accepted" ? "good" : invitation.status === "expired" ? "bad" : "neutral"}>
                        {t(`users.invitation.${invitation.status}`)}
                      </Badge>
                    </td>
                    <td>{formatDate(invitation.expiresAt)}</td>
                    <td>
                      {can("users:delete") && invitation.status === "pending" ? (
                        <button className="small" onClick={() => withdraw.mutate(invitation.id)}>
                          {t("users.withdraw")}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Loaded>
      </section>

      <section className="card" aria-labelledby="roles-title">
        <h2 id="roles-title">{t("users.roles")}</h2>
        <Loaded query={roles}>
          {(page) => (
            <ul className="roles">
              {page.data.map((role) => (
                <li key={role.id}>
                  <strong>{role.name}</strong> {role.builtin ? <Badge>{t("users.builtin")}</Badge> : null}
                  <div className="muted small">{role.permissions.join(", ")}</div>
                </li>
              ))}
            </ul>
          )}
        </Loaded>
      </section>
    </Page>
  );
}

function Invite() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [roleId, setRoleId] = useState("");
  const invite = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/invitations", { body: { email, roleId } })),
    onSuccess: () => {
      setEmail("");
      void queryClient.invalidateQueries({ queryKey: ["invitations"] });
    },
  });
  return (
    <Form className="row" onSubmit={() => invite.mutate()}>
      <Field label={t("users.email")} path="email" error={invite.error}>
        <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
      </Field>
      <Field label={t("users.role")} path="roleId" error={invite.error}>
        <select value={roleId} onChange={(e) => setRoleId(e.target.value)}>
          <option value="">{t("common.choose")}</option>
          <RoleOptions />
        </select>
      </Field>
      <button type="submit" disabled={invite.isPending}>
        {t("users.invite")}
      </button>
      <ErrorNotice error={invite.error} />
      {invite.data ? (
        <p className="notice" role="status">
          {invite.data.acceptUrl ? (
            <>
              {t("users.acceptLink", { email: invite.data.email })} <code data-testid="accept-url">{invite.data.acceptUrl}</code>
            </>
          ) : invite.data.emailed ? (
            t("users.emailed", { email: invite.data.email })
          ) : (
            t("users.recorded", { email: invite.data.email })
          )}
        </p>
      ) : null}
    </Form>
  );
}
