ALTER TABLE "agent_versions" ADD COLUMN "published_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "agent_versions" ADD COLUMN "published_by" text;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "published_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Until now every saved version was live: each agent's newest version is its published one.
UPDATE "agents" SET "published_version" = "current_version";
--> statement-breakpoint
UPDATE "agent_versions" AS v SET "published_at" = v."created_at", "published_by" = v."created_by"
FROM "agents" AS a WHERE a."id" = v."agent_id" AND a."current_version" = v."version";
