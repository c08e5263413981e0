-- Forced row-level security for the engine's tenant tables (pattern: 0001_rls_and_app_role.sql),
-- and version 1 for agents that existed before agent versions did.
ALTER TABLE agent_versions ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE agent_versions FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON agent_versions
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE alerts FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON alerts
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON agent_versions, alerts TO agent_app;
--> statement-breakpoint
-- Backfill as the migration owner. (An owner that is not a superuser is bound by FORCE and sees no
-- agents here; the engine and the agent verbs treat a missing version row as "no history yet".)
INSERT INTO agent_versions (tenant_id, agent_id, version, config, change, created_by, created_at)
SELECT a.tenant_id, a.id, a.current_version,
  jsonb_build_object(
    'name', a.name, 'systemPrompt', a.system_prompt, 'modelPolicy', a.model_policy,
    'temperature', a.temperature, 'maxOutputTokens', a.max_output_tokens, 'memoryWindow', a.memory_window,
    'toolIds', a.tool_ids, 'builtinTools', a.builtin_tools, 'knowledgeSourceIds', a.knowledge_source_ids,
    'channelIds', coalesce((SELECT jsonb_agg(c.id) FROM channels c WHERE c.agent_id = a.id), '[]'::jsonb)
  ),
  'create', 'system:migration', a.created_at
FROM agents a
ON CONFLICT DO NOTHING;
