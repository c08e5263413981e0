-- Forced row-level security for the analytics rollups and alert rules (pattern: 0001_rls_and_app_role.sql),
-- and the two cross-tenant lookups the pool's periodic jobs need (pattern: 0003's SECURITY DEFINER functions):
-- which tenants had traffic since a moment (rollups) and which have enabled alert rules.
ALTER TABLE alert_rules ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE alert_rules FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON alert_rules
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
ALTER TABLE analytics_traffic_hourly ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE analytics_traffic_hourly FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON analytics_traffic_hourly
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
ALTER TABLE analytics_usage_hourly ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE analytics_usage_hourly FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON analytics_usage_hourly
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
ALTER TABLE analytics_tools_hourly ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE analytics_tools_hourly FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON analytics_tools_hourly
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
ALTER TABLE analytics_end_users_hourly ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE analytics_end_users_hourly FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON analytics_end_users_hourly
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON alert_rules, analytics_traffic_hourly, analytics_usage_hourly, analytics_tools_hourly, analytics_end_users_hourly TO agent_app;
--> statement-breakpoint
-- As in 0003: a managed-Postgres owner that is not a superuser is bound by FORCE; these let the
-- owner role (never agent_app) read across tenants inside the functions below.
CREATE POLICY owner_definer_access ON conversations TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY owner_definer_access ON alert_rules TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE FUNCTION analytics_active_tenants(p_since timestamptz)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT DISTINCT c.tenant_id FROM conversations AS c WHERE c.last_message_at >= p_since
$$;
--> statement-breakpoint
CREATE FUNCTION alerting_tenants()
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT DISTINCT r.tenant_id FROM alert_rules AS r WHERE r.enabled
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION analytics_active_tenants(timestamptz) FROM PUBLIC;
--> statement-breakpoint
REVOKE ALL ON FUNCTION alerting_tenants() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION analytics_active_tenants(timestamptz) TO agent_app;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION alerting_tenants() TO agent_app;
