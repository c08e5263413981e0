CREATE TABLE "usage_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"meter" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"quantity" bigint NOT NULL,
	"identifier" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"reported_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_reports_identifier_unique" UNIQUE("identifier")
);
--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "plan" text DEFAULT 'free' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "plan_limits" jsonb;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "stripe_customer_id" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "stripe_subscription_id" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "subscription_status" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "payment_failed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "billing_event_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "usage_reports" ADD CONSTRAINT "usage_reports_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "usage_reports_period_idx" ON "usage_reports" USING btree ("tenant_id","meter","period_start");--> statement-breakpoint
CREATE INDEX "usage_reports_status_idx" ON "usage_reports" USING btree ("tenant_id","status");--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_stripe_customer_id_unique" UNIQUE("stripe_customer_id");--> statement-breakpoint
ALTER TABLE usage_reports ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE usage_reports FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON usage_reports
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON usage_reports TO agent_app;
--> statement-breakpoint
-- The tenants that are customers of the platform's Stripe account, for the usage report job (which
-- then works inside each tenant's own transaction).
CREATE FUNCTION billing_tenants()
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT t.id FROM tenants AS t WHERE t.stripe_customer_id IS NOT NULL AND t.deletion_requested_at IS NULL
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION billing_tenants() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION billing_tenants() TO agent_app;
--> statement-breakpoint
-- The tenant a Stripe customer of the platform's account is (billing webhooks name the customer).
CREATE FUNCTION billing_tenant_for_customer(p_customer text)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT t.id FROM tenants AS t WHERE t.stripe_customer_id = p_customer
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION billing_tenant_for_customer(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION billing_tenant_for_customer(text) TO agent_app;
--> statement-breakpoint
-- The tenants with plan usage alerts waiting to be emailed to their admins (the pool's alerting pass).
CREATE FUNCTION tenants_with_plan_alerts()
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT DISTINCT a.tenant_id FROM alerts AS a WHERE a.kind LIKE 'plan.%' AND a.delivery_status = 'pending'
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION tenants_with_plan_alerts() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION tenants_with_plan_alerts() TO agent_app;
