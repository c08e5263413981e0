import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { type Keyring, openCredentials, sealCredentials } from "../core/crypto/secrets";
import * as schema from "./schema";
import { agents, channels, roles, tenants } from "./schema";

/** Fixed ids so scripts, docs and the chat CLI can address the demo without looking it up. */
export const DEMO_TENANT_ID = "00000000-0000-4000-8000-00000000d001";
export const DEMO_AGENT_ID = "00000000-0000-4000-8000-00000000a001";
export const DEMO_TELEGRAM_CHANNEL_ID = "00000000-0000-4000-8000-00000000c001";

/** Permissions of the built-in roles every tenant starts with. */
export const BUILTIN_ROLE_PERMISSIONS: Record<"admin" | "editor" | "viewer", string[]> = {
  admin: ["*"],
  editor: [
    "agents:read", "agents:write", "channels:read", "channels:write", "tools:read", "tools:write",
    "knowledge:read", "knowledge:write", "conversations:read", "usage:read",
  ],
  viewer: ["agents:read", "channels:read", "tools:read", "knowledge:read", "conversations:read", "usage:read"],
};

export interface SeedDemoOptions {
  keyring: Keyring;
  telegramBotToken: string;
}

export interface SeedDemoResult {
  tenantId: string;
  agentId: string;
  channelId: string;
  /** True when the channel's sealed credentials were written (new channel or new token). */
  credentialsSealed: boolean;
}

interface TelegramCredentials {
  botToken: string;
}

/**
 * Creates the demo tenant (built-in roles, one agent, one Telegram channel) so a fresh local
 * stack answers messages at once. Idempotent: a second run changes nothing, and a different bot
 * token only re-seals the channel's credentials. Existing rows are never overwritten otherwise,
 * so edits made through the API survive a restart.
 */
export async function seedDemo(adminUrl: string, opts: SeedDemoOptions): Promise<SeedDemoResult> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: "agent-platform-seed" });
  await client.connect();
  try {
    const db = drizzle(client, { schema });
    return await db.transaction(async (tx) => {
      // Rows are written as the owner; the setting also satisfies forced RLS if that owner is not
      // a superuser (e.g. a managed Postgres owner role).
      await tx.execute(sql`select set_config('app.tenant_id', ${DEMO_TENANT_ID}, true)`);
      await tx.insert(tenants).values({ id: DEMO_TENANT_ID, name: "Demo", slug: "demo" }).onConflictDoNothing();
      await tx
        .insert(roles)
        .values(
          Object.entries(BUILTIN_ROLE_PERMISSIONS).map(([name, permissions]) => ({
            tenantId: DEMO_TENANT_ID,
            name,
            permissions,
            builtin: true,
          })),
        )
        .onConflictDoNothing({ target: [roles.tenantId, roles.name] });
      await tx
        .insert(agents)
        .values({
          id: DEMO_AGENT_ID,
          tenantId: DEMO_TENANT_ID,
          name: "Demo assistant",
          systemPrompt:
            "You are a friendly, concise support assistant for a small online shop. Answer in the " +
            "customer's language, ask one clarifying question when a request is ambiguous, and say " +
            "so plainly when you do not know something instead of guessing.",
        })
        .onConflictDoNothing();

      const context = { tenantId: DEMO_TENANT_ID, owner: `channel:${DEMO_TELEGRAM_CHANNEL_ID}` };
      const sealed = () => sealCredentials(opts.keyring, context, { botToken: opts.telegramBotToken });
      const [existing] = await tx
        .select({ credentials: channels.credentials })
        .from(channels)
        .where(eq(channels.id, DEMO_TELEGRAM_CHANNEL_ID));
      let credentialsSealed = false;
      if (!existing) {
        await tx.insert(channels).values({
          id: DEMO_TELEGRAM_CHANNEL_ID,
          tenantId: DEMO_TENANT_ID,
          agentId: DEMO_AGENT_ID,
          kind: "telegram",
          name: "Demo Telegram bot",
          credentials: await sealed(),
        });
        credentialsSealed = true;
      } else if ((await currentBotToken(opts.keyring, context, existing.credentials)) !== opts.telegramBotToken) {
        // AES-GCM is randomised: re-encrypting an unchanged token would still change the row.
        await tx
          .update(channels)
          .set({ credentials: await sealed(), updatedAt: sql`now()` })
          .where(eq(channels.id, DEMO_TELEGRAM_CHANNEL_ID));
        credentialsSealed = true;
      }
      return { tenantId: DEMO_TENANT_ID, agentId: DEMO_AGENT_ID, channelId: DEMO_TELEGRAM_CHANNEL_ID, credentialsSealed };
    });
  } finally {
    await client.end();
  }
}

/** The sealed token, or undefined when missing or unreadable (e.g. sealed under a retired key). */
async function currentBotToken(
  keyring: Keyring,
  context: { tenantId: string; owner: string },
  envelope: string | null,
): Promise<string | undefined> {
  if (!envelope) return undefined;
  try {
    return (await openCredentials<TelegramCredentials>(keyring, context, envelope)).botToken;
  } catch {
    return undefined;
  }
}
