CREATE TABLE "usage_month_conversations" (
	"tenant_id" uuid NOT NULL,
	"month" date NOT NULL,
	"conversation_id" uuid NOT NULL,
	CONSTRAINT "usage_month_conversations_tenant_id_month_conversation_id_pk" PRIMARY KEY("tenant_id","month","conversation_id")
);
--> statement-breakpoint
CREATE TABLE "usage_months" (
	"tenant_id" uuid NOT NULL,
	"month" date NOT NULL,
	"cost_nano_usd" bigint DEFAULT 0 NOT NULL,
	"tokens" bigint DEFAULT 0 NOT NULL,
	"conversations" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_months_tenant_id_month_pk" PRIMARY KEY("tenant_id","month")
);
--> statement-breakpoint
ALTER TABLE "usage_month_conversations" ADD CONSTRAINT "usage_month_conversations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_month_conversations" ADD CONSTRAINT "usage_month_conversations_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_months" ADD CONSTRAINT "usage_months_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE usage_months ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE usage_months FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON usage_months
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON usage_months TO agent_app;
--> statement-breakpoint
ALTER TABLE usage_month_conversations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE usage_month_conversations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON usage_month_conversations
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON usage_month_conversations TO agent_app;
--> statement-breakpoint
-- Keeps the month's running totals as usage records are written, in the writer's transaction and
-- under its role (row-level security applies: a record can only add to its own tenant's totals).
CREATE FUNCTION usage_months_add() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp
AS $$
DECLARE
  v_month date := (date_trunc('month', NEW.created_at AT TIME ZONE 'UTC'))::date;
  v_new_conversation integer := 0;
BEGIN
  IF NEW.conversation_id IS NOT NULL AND NEW.outcome IN ('answered', 'all_failed', 'cancelled') THEN
    INSERT INTO usage_month_conversations (tenant_id, month, conversation_id)
      VALUES (NEW.tenant_id, v_month, NEW.conversation_id)
      ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_new_conversation = ROW_COUNT;
  END IF;
  INSERT INTO usage_months AS m (tenant_id, month, cost_nano_usd, tokens, conversations)
    VALUES (NEW.tenant_id, v_month, NEW.cost_nano_usd, NEW.input_tokens + NEW.output_tokens, v_new_conversation)
    ON CONFLICT (tenant_id, month) DO UPDATE SET
      cost_nano_usd = m.cost_nano_usd + EXCLUDED.cost_nano_usd,
      tokens = m.tokens + EXCLUDED.tokens,
      conversations = m.conversations + EXCLUDED.conversations;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER usage_records_add_to_month AFTER INSERT ON usage_records
  FOR EACH ROW EXECUTE FUNCTION usage_months_add();
--> statement-breakpoint
-- The totals of the records already there.
INSERT INTO usage_month_conversations (tenant_id, month, conversation_id)
  SELECT DISTINCT tenant_id, (date_trunc('month', created_at AT TIME ZONE 'UTC'))::date, conversation_id
  FROM usage_records
  WHERE conversation_id IS NOT NULL AND outcome IN ('answered', 'all_failed', 'cancelled');
--> statement-breakpoint
INSERT INTO usage_months (tenant_id, month, cost_nano_usd, tokens, conversations)
  SELECT r.tenant_id, (date_trunc('month', r.created_at AT TIME ZONE 'UTC'))::date,
         sum(r.cost_nano_usd), sum(r.input_tokens + r.output_tokens),
         count(DISTINCT r.conversation_id) FILTER (WHERE r.outcome IN ('answered', 'all_failed', 'cancelled'))
  FROM usage_records AS r
  GROUP BY 1, 2;
