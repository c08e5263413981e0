-- Row-level security for the access tables (api_keys, invitations, audit_log), and the narrow
-- SECURITY DEFINER functions the edge uses before it knows the tenant.
--
-- Why functions: authentication must find a tenant from an API key hash or an Auth0 organisation,
-- and a user by `sub`, before any app.tenant_id can be set; as agent_app under forced RLS those rows
-- are invisible, by design. Each function below does exactly one such lookup, runs as the
-- migration owner with a fixed search_path, and only agent_app may EXECUTE it (not PUBLIC).
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON api_keys
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON invitations
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
-- Append-only for the application: read and insert policies only, so an UPDATE or DELETE by
-- agent_app matches no row, whatever its WHERE clause.
CREATE POLICY tenant_read ON audit_log FOR SELECT
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
CREATE POLICY tenant_append ON audit_log FOR INSERT
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys, invitations, audit_log TO agent_app;
--> statement-breakpoint
-- FORCE ROW LEVEL SECURITY also binds the tables' owner, which runs the functions below. A
-- superuser owner bypasses RLS anyway; for a managed-Postgres owner that is not one, these
-- policies let the owner role (never agent_app, which withTenant switches to) see across tenants.
CREATE POLICY owner_definer_access ON tenants TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY owner_definer_access ON users TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY owner_definer_access ON roles TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY owner_definer_access ON memberships TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY owner_definer_access ON api_keys TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY owner_definer_access ON invitations TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY owner_definer_access ON audit_log TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
-- API key → tenant and role. The caller passes the key's public id and the SHA-256 of the whole
-- key; only a live (not revoked) key with both matching answers. last_used_at is written at most
-- once a minute per key, so a busy key does not cost a row write per request.
CREATE FUNCTION auth_api_key(p_public_id text, p_secret_hash text)
RETURNS TABLE (
  api_key_id uuid, tenant_id uuid, role_id uuid, role_name text, role_builtin boolean,
  role_permissions jsonb, allowed_origins jsonb
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  UPDATE api_keys AS k SET last_used_at = now()
  WHERE k.public_id = p_public_id AND k.secret_hash = p_secret_hash AND k.revoked_at IS NULL
    AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
  RETURN QUERY
    SELECT k.id, k.tenant_id, r.id, r.name, r.builtin, r.permissions,
           coalesce(t.settings -> 'allowedOrigins', '[]'::jsonb)
    FROM api_keys AS k
    JOIN roles AS r ON r.id = k.role_id AND r.tenant_id = k.tenant_id
    JOIN tenants AS t ON t.id = k.tenant_id
    WHERE k.public_id = p_public_id AND k.secret_hash = p_secret_hash AND k.revoked_at IS NULL;
END
$$;
--> statement-breakpoint
-- Auth0 organisation + subject → tenant, user and role. A user without a membership gets one here
-- only with a pending, unexpired invitation for their verified email (first sign-in): the user is
-- created if new, the invitation is marked accepted and the join is audited, all in the caller's
-- transaction. Anyone else gets no row.
CREATE FUNCTION auth_member(p_org_id text, p_subject text, p_email text, p_email_verified boolean, p_name text)
RETURNS TABLE (
  tenant_id uuid, user_id uuid, role_id uuid, role_name text, role_builtin boolean,
  role_permissions jsonb, allowed_origins jsonb, joined boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_tenant_id uuid;
  v_settings jsonb;
  v_user_id uuid;
  v_invitation_id uuid;
  v_invitation_role uuid;
  v_joined boolean := false;
BEGIN
  SELECT t.id, t.settings INTO v_tenant_id, v_settings FROM tenants AS t WHERE t.auth0_org_id = p_org_id;
  IF v_tenant_id IS NULL THEN
    RETURN;
  END IF;
  SELECT u.id INTO v_user_id FROM users AS u WHERE u.auth_subject = p_subject;
  IF v_user_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM memberships AS m WHERE m.tenant_id = v_tenant_id AND m.user_id = v_user_id
  ) THEN
    IF p_email IS NULL OR NOT coalesce(p_email_verified, false) THEN
      RETURN;
    END IF;
    SELECT i.id, i.role_id INTO v_invitation_id, v_invitation_role
    FROM invitations AS i
    WHERE i.tenant_id = v_tenant_id AND i.email = lower(p_email) AND i.accepted_at IS NULL AND i.expires_at > now()
    FOR UPDATE;
    IF v_invitation_id IS NULL THEN
      RETURN;
    END IF;
    IF v_user_id IS NULL THEN
      INSERT INTO users AS u (auth_subject, email, name) VALUES (p_subject, lower(p_email), p_name)
      ON CONFLICT ON CONSTRAINT users_auth_subject_unique DO UPDATE SET email = excluded.email
      RETURNING u.id INTO v_user_id;
    END IF;
    INSERT INTO memberships (tenant_id, user_id, role_id) VALUES (v_tenant_id, v_user_id, v_invitation_role)
    ON CONFLICT ON CONSTRAINT memberships_tenant_user_unique DO NOTHING;
    UPDATE invitations AS i SET accepted_at = now() WHERE i.id = v_invitation_id;
    INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, resource_type, resource_id, after)
    VALUES (v_tenant_id, 'user', v_user_id::text, 'invitation.accept', 'user', v_user_id::text,
            jsonb_build_object('userId', v_user_id, 'roleId', v_invitation_role, 'invitationId', v_invitation_id));
    v_joined := true;
  END IF;
  RETURN QUERY
    SELECT v_tenant_id, v_user_id, r.id, r.name, r.builtin, r.permissions,
           coalesce(v_settings -> 'allowedOrigins', '[]'::jsonb), v_joined
    FROM memberships AS m
    JOIN roles AS r ON r.id = m.role_id AND r.tenant_id = m.tenant_id
    WHERE m.tenant_id = v_tenant_id AND m.user_id = v_user_id;
END
$$;
--> statement-breakpoint
-- CORS preflight requests carry no credentials, so the tenant is unknown: a preflight is answered
-- for an origin some tenant allows, and the actual response only for the caller's own tenant's.
CREATE FUNCTION auth_origin_allowed(p_origin text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM tenants AS t WHERE t.settings -> 'allowedOrigins' ? p_origin)
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION auth_api_key(text, text) FROM PUBLIC;
--> statement-breakpoint
REVOKE ALL ON FUNCTION auth_member(text, text, text, boolean, text) FROM PUBLIC;
--> statement-breakpoint
REVOKE ALL ON FUNCTION auth_origin_allowed(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION auth_api_key(text, text) TO agent_app;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION auth_member(text, text, text, boolean, text) TO agent_app;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION auth_origin_allowed(text) TO agent_app;
