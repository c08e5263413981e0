import { and, eq, isNull, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { BUILTIN_ROLE_PERMISSIONS } from "../core/access/permissions";
import { channelSecretContext } from "../core/channels/credentials";
import { type Keyring, openCredentials, sealCredentials } from "../core/crypto/secrets";
import * as schema from "../db/schema";
import { agents, agentVersions, channels, memberships, roles, tenants, users } from "../db/schema";

/** Fixed ids so scripts, docs and the chat CLI can address the demo without looking it up. */
export const DEMO_TENANT_ID = "00000000-0000-4000-8000-00000000d001";
export const DEMO_AGENT_ID = "00000000-0000-4000-8000-00000000a001";
export const DEMO_TELEGRAM_CHANNEL_ID = "00000000-0000-4000-8000-00000000c001";
export const DEMO_WHATSAPP_CHANNEL_ID = "00000000-0000-4000-8000-00000000c002";
export const DEMO_EMAIL_CHANNEL_ID = "00000000-0000-4000-8000-00000000c003";
export const DEMO_SES_CHANNEL_ID = "00000000-0000-4000-8000-00000000c004";
export const DEMO_SMS_CHANNEL_ID = "00000000-0000-4000-8000-00000000c005";
export const DEMO_VOICE_CHANNEL_ID = "00000000-0000-4000-8000-00000000c006";
/** The demo tenant's admin: `npm start` prints a one-time console sign-in link for them. */
export const DEMO_ADMIN_USER_ID = "00000000-0000-4000-8000-00000000e001";
export const DEMO_ADMIN_EMAIL = "admin@demo.local";

/**
 * A placeholder Auth0 Organization id for the demo tenant: point it at a real organisation
 * (`update tenants set auth0_org_id = 'org_…'`) to sign in to the demo with Auth0.
 */
export const DEMO_AUTH0_ORG_ID = "org_demo_placeholder";

export { BUILTIN_ROLE_PERMISSIONS };

const DEMO_AGENT_NAME = "Demo assistant";
const DEMO_SYSTEM_PROMPT =
  "You are a friendly, concise support assistant for a small online shop. Answer in the " +
  "customer's language, ask one clarifying question when a request is ambiguous, and say " +
  "so plainly when you do not know something instead of guessing.";

export interface SeedDemoOptions {
  keyring: Keyring;
  telegramBotToken: string;
  /** Also a demo WhatsApp channel on this Cloud API number (the local stack's fake Graph API). */
  whatsapp?: { accessToken: string; phoneNumberId: string };
  /** Demo SMS and voice channels on this Twilio number; their credentials are stored by connecting them once the edge runs (local-stack.ts). */
  twilio?: { phoneNumber: string };
  /** Also a demo email channel: its inbound address and the SMTP server its replies go through (the local stack's). */
  email?: { inboundAddress: string; fromAddress: string; smtpHost: string; smtpPort: number };
  /** Also a demo email channel on an Amazon SES account (the local stack's loopback SES and SNS). */
  sesEmail?: { fromAddress: string; region: string; accessKeyId: string; secretAccessKey: string };
}

export interface SeedDemoResult {
  tenantId: string;
  agentId: string;
  channelId: string;
  /** The demo WhatsApp channel, when one was asked for. */
  whatsappChannelId?: string;
  smsChannelId?: string;
  voiceChannelId?: string;
  /** The demo email channel, when one was asked for. */
  emailChannelId?: string;
  /** The demo SES email channel, when one was asked for. */
  sesChannelId?: string;
  /** The demo tenant's admin user (console sign-in). */
  adminUserId: string;
  /** True when the channel's sealed credentials were written (new channel or new token). */
  credentialsSealed: boolean;
}

interface TelegramCredentials {
  botToken: string;
}

/**
 * Creates the demo tenant (built-in roles, its admin user, one agent, one Telegram channel) so a fresh local
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
      await tx
        .insert(tenants)
        .values({ id: DEMO_TENANT_ID, name: "Demo", slug: "demo", auth0OrgId: DEMO_AUTH0_ORG_ID, plan: "business" })
        .onConflictDoNothing();
      // The demo shows every module (phone calls included): a demo seeded before plans existed moves
      // from the free plan to Business, unless it has since subscribed through Stripe.
      await tx
        .update(tenants)
        .set({ plan: "business" })
        .where(and(eq(tenants.id, DEMO_TENANT_ID), eq(tenants.plan, "free"), isNull(tenants.stripeCustomerId)));
      // Demo tenants seeded before Auth0 sign-in existed get the placeholder; a real id set since is kept.
      await tx
        .update(tenants)
        .set({ auth0OrgId: DEMO_AUTH0_ORG_ID })
        .where(and(eq(tenants.id, DEMO_TENANT_ID), isNull(tenants.auth0OrgId)));
      await tx
        .insert(roles)
        .values(
          Object.entries(BUILTIN_ROLE_PERMISSIONS).map(([name, permissions]) => ({
            tenantId: DEMO_TENANT_ID,
            name,
            // Informative only: built-in roles take their permissions from core/access/permissions.ts.
            permissions: [...permissions],
            builtin: true,
          })),
        )
        .onConflictDoNothing({ target: [roles.tenantId, roles.name] });
      await tx
        .insert(users)
        .values({ id: DEMO_ADMIN_USER_ID, authSubject: "local|demo-admin", email: DEMO_ADMIN_EMAIL, name: "Demo admin" })
        .onConflictDoNothing();
      const [adminRole] = await tx
        .select({ id: roles.id })
        .from(roles)
        .where(and(eq(roles.tenantId, DEMO_TENANT_ID), eq(roles.name, "admin")));
      await tx
        .insert(memberships)
        .values({ tenantId: DEMO_TENANT_ID, userId: DEMO_ADMIN_USER_ID, roleId: adminRole!.id })
        .onConflictDoNothing();
      await tx
        .insert(agents)
        .values({
          id: DEMO_AGENT_ID,
          tenantId: DEMO_TENANT_ID,
          name: DEMO_AGENT_NAME,
          systemPrompt: DEMO_SYSTEM_PROMPT,
        })
        .onConflictDoNothing();
      await tx
        .insert(agentVersions)
        .values({
          tenantId: DEMO_TENANT_ID,
          agentId: DEMO_AGENT_ID,
          version: 1,
          change: "create",
          createdBy: "system:seed",
          config: {
            name: DEMO_AGENT_NAME,
            systemPrompt: DEMO_SYSTEM_PROMPT,
            modelPolicy: null,
            temperature: 0.3,
            maxOutputTokens: 512,
            memoryWindow: 12,
            toolIds: [],
            builtinTools: [],
            integrationTools: [],
            knowledgeBaseIds: [],
            knowledgeSourceIds: [],
            channelIds: [DEMO_TELEGRAM_CHANNEL_ID],
          },
        })
        .onConflictDoNothing();

      const context = channelSecretContext({ tenantId: DEMO_TENANT_ID, id: DEMO_TELEGRAM_CHANNEL_ID });
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
      if (opts.whatsapp) {
        // Inserted once; like the Telegram channel, edits made through the API survive a restart.
        await tx
          .insert(channels)
          .values({
            id: DEMO_WHATSAPP_CHANNEL_ID,
            tenantId: DEMO_TENANT_ID,
            agentId: DEMO_AGENT_ID,
            kind: "whatsapp",
            name: "Demo WhatsApp number",
            config: { phoneNumberId: opts.whatsapp.phoneNumberId },
            credentials: await sealCredentials(
              opts.keyring,
              channelSecretContext({ tenantId: DEMO_TENANT_ID, id: DEMO_WHATSAPP_CHANNEL_ID }),
              { accessToken: opts.whatsapp.accessToken },
            ),
          })
          .onConflictDoNothing();
      }
      if (opts.twilio) {
        const { phoneNumber } = opts.twilio;
        await tx
          .insert(channels)
          .values([
            {
              id: DEMO_SMS_CHANNEL_ID,
              tenantId: DEMO_TENANT_ID,
              agentId: DEMO_AGENT_ID,
              kind: "sms",
              name: "Demo SMS number",
              config: { phoneNumber },
            },
            {
              id: DEMO_VOICE_CHANNEL_ID,
              tenantId: DEMO_TENANT_ID,
              agentId: DEMO_AGENT_ID,
              kind: "voice",
              name: "Demo phone line",
              config: { phoneNumber, welcomeMessage: "Thanks for calling the demo shop. How can I help?", language: "en-US" },
            },
          ])
          .onConflictDoNothing();
      }
      if (opts.email) {
        // The local SMTP server's port may differ from the last run's: the server and the address are
        // refreshed, whatever else was edited through the API stays.
        const local = { smtp: { host: opts.email.smtpHost, port: opts.email.smtpPort }, inboundAddress: opts.email.inboundAddress };
        await tx
          .insert(channels)
          .values({
            id: DEMO_EMAIL_CHANNEL_ID,
            tenantId: DEMO_TENANT_ID,
            agentId: DEMO_AGENT_ID,
            kind: "email",
            name: "Demo support mailbox",
            config: { fromAddress: opts.email.fromAddress, fromName: "Demo shop support", ...local },
          })
          .onConflictDoUpdate({ target: channels.id, set: { config: sql`${channels.config} || ${JSON.stringify(local)}::jsonb` } });
      }
      if (opts.sesEmail) {
        const { accessKeyId, secretAccessKey, region, fromAddress } = opts.sesEmail;
        await tx
          .insert(channels)
          .values({
            id: DEMO_SES_CHANNEL_ID,
            tenantId: DEMO_TENANT_ID,
            agentId: DEMO_AGENT_ID,
            kind: "email",
            name: "Demo mailbox on Amazon SES",
            config: { fromAddress, fromName: "Demo shop support", ses: { region } },
            credentials: await sealCredentials(opts.keyring, channelSecretContext({ tenantId: DEMO_TENANT_ID, id: DEMO_SES_CHANNEL_ID }), {
              awsAccessKeyId: accessKeyId,
              awsSecretAccessKey: secretAccessKey,
            }),
          })
          .onConflictDoNothing();
      }
      return {
        tenantId: DEMO_TENANT_ID,
        agentId: DEMO_AGENT_ID,
        channelId: DEMO_TELEGRAM_CHANNEL_ID,
        ...(opts.sesEmail ? { sesChannelId: DEMO_SES_CHANNEL_ID } : {}),
        ...(opts.whatsapp ? { whatsappChannelId: DEMO_WHATSAPP_CHANNEL_ID } : {}),
        ...(opts.twilio ? { smsChannelId: DEMO_SMS_CHANNEL_ID, voiceChannelId: DEMO_VOICE_CHANNEL_ID } : {}),
        ...(opts.email ? { emailChannelId: DEMO_EMAIL_CHANNEL_ID } : {}),
        adminUserId: DEMO_ADMIN_USER_ID,
        credentialsSealed,
      };
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
