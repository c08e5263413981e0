-- The retention job's one cross-tenant lookup (pattern: 0012's SECURITY DEFINER functions): the
-- tenants whose settings keep messages for a limited number of days, with the days and the mode.
CREATE FUNCTION retention_tenants()
RETURNS TABLE (tenant_id uuid, days integer, mode text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT t.id, (t.settings -> 'retention' ->> 'messagesDays')::integer, coalesce(t.settings -> 'retention' ->> 'mode', 'delete')
    FROM tenants AS t
   WHERE jsonb_typeof(t.settings -> 'retention' -> 'messagesDays') = 'number'
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION retention_tenants() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION retention_tenants() TO agent_app;
