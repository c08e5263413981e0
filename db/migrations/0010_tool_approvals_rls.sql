-- Forced row-level security for tool approvals (pattern: 0001_rls_and_app_role.sql).
ALTER TABLE tool_approvals ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE tool_approvals FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON tool_approvals
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON tool_approvals TO agent_app;
