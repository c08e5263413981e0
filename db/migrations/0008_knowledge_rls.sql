-- Forced row-level security for knowledge bases (pattern: 0001_rls_and_app_role.sql).
ALTER TABLE knowledge_bases ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE knowledge_bases FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON knowledge_bases
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON knowledge_bases TO agent_app;
