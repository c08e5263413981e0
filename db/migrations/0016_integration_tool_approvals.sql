ALTER TABLE "tool_approvals" ALTER COLUMN "tool_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "tool_approvals" ADD COLUMN "integration_tool" text;--> statement-breakpoint
CREATE INDEX "tool_approvals_integration_call_idx" ON "tool_approvals" USING btree ("integration_tool","conversation_id","arguments_hash");--> statement-breakpoint
ALTER TABLE "tool_approvals" ADD CONSTRAINT "tool_approvals_one_subject" CHECK (num_nonnulls("tool_approvals"."tool_id", "tool_approvals"."integration_tool") = 1);