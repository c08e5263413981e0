-- Console sign-in where Auth0 is not configured, and self-service sign-up. Like the functions of
-- 0003_access_rls_and_auth_functions, these run before the caller's tenant is known, so they are
-- SECURITY DEFINER, each one job, with EXECUTE granted to agent_app only.
ALTER TABLE sign_in_links ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE sign_in_links FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON sign_in_links
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
CREATE POLICY owner_definer_access ON sign_in_links TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_links TO agent_app;
--> statement-breakpoint
-- A member of a tenant → their role, as auth_member answers (console sessions name tenant and user).
CREATE FUNCTION auth_user(p_tenant_id uuid, p_user_id uuid)
RETURNS TABLE (
  tenant_id uuid, user_id uuid, role_id uuid, role_name text, role_builtin boolean,
  role_permissions jsonb, allowed_origins jsonb
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT m.tenant_id, m.user_id, r.id, r.name, r.builtin, r.permissions,
         coalesce(t.settings -> 'allowedOrigins', '[]'::jsonb)
  FROM memberships AS m
  JOIN roles AS r ON r.id = m.role_id AND r.tenant_id = m.tenant_id
  JOIN tenants AS t ON t.id = m.tenant_id
  WHERE m.tenant_id = p_tenant_id AND m.user_id = p_user_id
$$;
--> statement-breakpoint
-- A sign-in link's token hash → its tenant and user, once: the link is marked used in the same
-- statement, so two concurrent redemptions cannot both succeed. Expired, used or unknown: no row.
CREATE FUNCTION auth_redeem_sign_in_link(p_token_hash text)
RETURNS TABLE (tenant_id uuid, user_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  UPDATE sign_in_links AS l SET used_at = now()
  WHERE l.token_hash = p_token_hash AND l.used_at IS NULL AND l.expires_at > now()
  RETURNING l.tenant_id, l.user_id
$$;
--> statement-breakpoint
-- Self-service sign-up: a new tenant with its built-in roles (p_roles: {name: [permissions]}), the
-- user (found by auth subject, else created) as its admin, and the audit record, in the caller's
-- transaction. A taken slug or organisation raises unique_violation (the API answers 409).
CREATE FUNCTION auth_sign_up(
  p_tenant_name text, p_slug text, p_auth0_org_id text,
  p_subject text, p_email text, p_user_name text, p_roles jsonb
)
RETURNS TABLE (tenant_id uuid, user_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_tenant_id uuid;
  v_user_id uuid;
  v_admin_role uuid;
BEGIN
  INSERT INTO tenants AS t (name, slug, auth0_org_id) VALUES (p_tenant_name, p_slug, p_auth0_org_id)
  RETURNING t.id INTO v_tenant_id;
  INSERT INTO roles (tenant_id, name, permissions, builtin)
  SELECT v_tenant_id, r.key, r.value, true FROM jsonb_each(p_roles) AS r;
  SELECT r.id INTO v_admin_role FROM roles AS r WHERE r.tenant_id = v_tenant_id AND r.name = 'admin';
  IF v_admin_role IS NULL THEN
    RAISE EXCEPTION 'auth_sign_up: p_roles has no admin role';
  END IF;
  INSERT INTO users AS u (auth_subject, email, name) VALUES (p_subject, lower(p_email), p_user_name)
  ON CONFLICT ON CONSTRAINT users_auth_subject_unique DO UPDATE SET email = excluded.email
  RETURNING u.id INTO v_user_id;
  INSERT INTO memberships (tenant_id, user_id, role_id) VALUES (v_tenant_id, v_user_id, v_admin_role);
  INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, resource_type, resource_id, after)
  VALUES (v_tenant_id, 'user', v_user_id::text, 'tenant.sign_up', 'tenant', v_tenant_id::text,
          jsonb_build_object('name', p_tenant_name, 'slug', p_slug, 'adminUserId', v_user_id));
  RETURN QUERY SELECT v_tenant_id, v_user_id;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION auth_user(uuid, uuid) FROM PUBLIC;
--> statement-breakpoint
REVOKE ALL ON FUNCTION auth_redeem_sign_in_link(text) FROM PUBLIC;
--> statement-breakpoint
REVOKE ALL ON FUNCTION auth_sign_up(text, text, text, text, text, text, jsonb) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION auth_user(uuid, uuid) TO agent_app;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION auth_redeem_sign_in_link(text) TO agent_app;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION auth_sign_up(text, text, text, text, text, text, jsonb) TO agent_app;
