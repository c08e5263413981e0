/**
 * The whole database schema. Import tables from here; `schema` is what the drizzle clients attach
 * so relational queries and types see every table.
 */
export * from "./tenants";
export * from "./users";
export * from "./access";
export * from "./agents";
export * from "./channels";
export * from "./conversations";
export * from "./tools";
export * from "./knowledge";
export * from "./usage";
export * from "./analytics";
export * from "./api-keys";
export * from "./invitations";
export * from "./audit";
export * from "./integrations";
export * from "./sign-in-links";
export * from "./data-transfers";
export * from "./billing";

/**
 * Tables holding a `tenant_id` column, all under forced row-level security (see the RLS migration),
 * in foreign-key order: a table comes after those it references (tenant exports and imports rely on it).
 */
export const tenantOwnedTableNames = [
  "roles",
  "memberships",
  "agents",
  "channels",
  "conversations",
  "messages",
  "tools",
  "agent_tools",
  "tool_approvals",
  "knowledge_bases",
  "knowledge_sources",
  "knowledge_chunks",
  "usage_records",
  "usage_months",
  "usage_month_conversations",
  "agent_versions",
  "agent_test_runs",
  "alerts",
  "alert_rules",
  "analytics_traffic_hourly",
  "analytics_usage_hourly",
  "analytics_tools_hourly",
  "analytics_end_users_hourly",
  "api_keys",
  "invitations",
  "audit_log",
  "integration_connections",
  "oauth_states",
  "integration_events",
  "sign_in_links",
  "data_transfers",
  "usage_reports",
] as const;
