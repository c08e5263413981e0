-- Accepting an invitation without Auth0 (LOCAL_SIGN_IN): the one-time link's token hash → a new
-- user with the invitation's email, their membership with its role, the invitation marked accepted
-- and the audit record, in one statement's transaction. Unknown, used or expired: no row. Like the
-- other auth_ functions it runs before the tenant is known: SECURITY DEFINER, EXECUTE for agent_app.
CREATE FUNCTION auth_accept_invitation(p_token_hash text, p_subject text, p_name text)
RETURNS TABLE (tenant_id uuid, user_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_invitation invitations%ROWTYPE;
  v_user_id uuid;
BEGIN
  UPDATE invitations AS i SET accepted_at = now(), accept_token_hash = NULL
  WHERE i.accept_token_hash = p_token_hash AND i.accepted_at IS NULL AND i.expires_at > now()
  RETURNING i.* INTO v_invitation;
  IF v_invitation.id IS NULL THEN
    RETURN;
  END IF;
  INSERT INTO users AS u (auth_subject, email, name) VALUES (p_subject, v_invitation.email, p_name)
  RETURNING u.id INTO v_user_id;
  INSERT INTO memberships (tenant_id, user_id, role_id) VALUES (v_invitation.tenant_id, v_user_id, v_invitation.role_id);
  INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, resource_type, resource_id, after)
  VALUES (v_invitation.tenant_id, 'user', v_user_id::text, 'invitation.accept', 'user', v_user_id::text,
          jsonb_build_object('userId', v_user_id, 'roleId', v_invitation.role_id, 'invitationId', v_invitation.id));
  RETURN QUERY SELECT v_invitation.tenant_id, v_user_id;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION auth_accept_invitation(text, text, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION auth_accept_invitation(text, text, text) TO agent_app;
