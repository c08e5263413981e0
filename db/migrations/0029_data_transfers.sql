CREATE TABLE "data_transfers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"requested_by" text NOT NULL,
	"progress" jsonb DEFAULT '{"rows":{}}'::jsonb NOT NULL,
	"source_export_id" uuid,
	"target_tenant_id" uuid,
	"object_key" text,
	"bytes" bigint,
	"sha256" text,
	"error" text,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "data_transfers" ADD CONSTRAINT "data_transfers_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "data_transfers_tenant_idx" ON "data_transfers" USING btree ("tenant_id","kind","created_at");--> statement-breakpoint
ALTER TABLE data_transfers ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE data_transfers FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON data_transfers
  USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON data_transfers TO agent_app;
