ALTER TABLE "tenants" ADD COLUMN "deletion_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "purge_after" timestamp with time zone;--> statement-breakpoint
-- The purge's two cross-tenant steps (pattern: 0012's SECURITY DEFINER functions): which tenants'
-- grace period is over, and deleting one of them. Every tenant table references tenants with ON
-- DELETE CASCADE, so the tenant's row takes all of its rows with it in one statement.
CREATE FUNCTION tenants_due_for_purge(p_now timestamptz)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT t.id FROM tenants AS t WHERE t.purge_after IS NOT NULL AND t.purge_after <= p_now
$$;
--> statement-breakpoint
CREATE FUNCTION purge_tenant(p_tenant uuid, p_now timestamptz)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  DELETE FROM tenants AS t WHERE t.id = p_tenant AND t.purge_after IS NOT NULL AND t.purge_after <= p_now;
  RETURN FOUND;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION tenants_due_for_purge(timestamptz) FROM PUBLIC;
--> statement-breakpoint
REVOKE ALL ON FUNCTION purge_tenant(uuid, timestamptz) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION tenants_due_for_purge(timestamptz) TO agent_app;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION purge_tenant(uuid, timestamptz) TO agent_app;
