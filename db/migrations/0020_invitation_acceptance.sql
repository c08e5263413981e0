ALTER TABLE "invitations" ADD COLUMN "accept_token_hash" text;--> statement-breakpoint
ALTER TABLE "invitations" ADD COLUMN "auth0_invitation_id" text;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_accept_token_hash_unique" UNIQUE("accept_token_hash");