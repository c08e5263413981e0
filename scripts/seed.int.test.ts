import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCredentials, type Keyring } from "../core/crypto/secrets";
import { createTestDatabase, type TestDatabase } from "../test/support/database";
import { createPoolDb } from "../db/client";
import { agents, channels, memberships, roles, tenants } from "../db/schema";
import { DEMO_ADMIN_USER_ID, DEMO_AGENT_ID, DEMO_TELEGRAM_CHANNEL_ID, DEMO_TENANT_ID, seedDemo } from "./seed";
import { withTenant } from "../db/tenant";

const keyring: Keyring = { currentKeyId: "k1", keys: { k1: crypto.getRandomValues(new Uint8Array(32)) } };
const context = { tenantId: DEMO_TENANT_ID, owner: `channel:${DEMO_TELEGRAM_CHANNEL_ID}` };

let database: TestDatabase;
let admin: ReturnType<typeof createPoolDb>;

/** Every row the seed can touch, as JSON, so "nothing changed" is one comparison. */
async function snapshot() {
  const tables = { tenants, roles, agents, channels };
  const out: Record<string, unknown> = {};
  for (const [name, table] of Object.entries(tables)) out[name] = JSON.stringify(await admin.db.select().from(table));
  return out;
}

beforeAll(async () => {
  database = await createTestDatabase();
  admin = createPoolDb(database.adminUrl, { max: 1 });
});

afterAll(async () => {
  await admin?.close();
  await database?.close();
});

describe("seedDemo", () => {
  it("creates the demo tenant, built-in roles, agent and a Telegram channel with sealed credentials", async () => {
    const result = await seedDemo(database.adminUrl, { keyring, telegramBotToken: "123:first" });
    expect(result).toEqual({
      tenantId: DEMO_TENANT_ID,
      agentId: DEMO_AGENT_ID,
      channelId: DEMO_TELEGRAM_CHANNEL_ID,
      adminUserId: DEMO_ADMIN_USER_ID,
      credentialsSealed: true,
    });
    const seen = await withTenant(admin.db, DEMO_TENANT_ID, async (tx) => ({
      roles: (await tx.select().from(roles)).map((r) => [r.name, r.builtin]).sort(),
      agent: (await tx.select().from(agents).where(eq(agents.id, DEMO_AGENT_ID)))[0],
      channel: (await tx.select().from(channels).where(eq(channels.id, DEMO_TELEGRAM_CHANNEL_ID)))[0],
      admins: await tx
        .select({ userId: memberships.userId, role: roles.name })
        .from(memberships)
        .innerJoin(roles, eq(roles.id, memberships.roleId)),
    }));
    expect(seen.admins).toEqual([{ userId: DEMO_ADMIN_USER_ID, role: "admin" }]);
    expect(seen.roles).toEqual([
      ["admin", true],
      ["editor", true],
      ["viewer", true],
    ]);
    expect(seen.agent?.name).toBe("Demo assistant");
    expect(seen.channel).toMatchObject({ kind: "telegram", agentId: DEMO_AGENT_ID, status: "active" });
    expect(seen.channel?.credentials).not.toContain("123:first");
    expect(await openCredentials(keyring, context, seen.channel!.credentials!)).toEqual({ botToken: "123:first" });
  });

  it("changes nothing on a second run", async () => {
    const before = await snapshot();
    const result = await seedDemo(database.adminUrl, { keyring, telegramBotToken: "123:first" });
    expect(result.credentialsSealed).toBe(false);
    expect(await snapshot()).toEqual(before);
  });

  it("re-seals only the credentials when the bot token changes", async () => {
    const before = await snapshot();
    const result = await seedDemo(database.adminUrl, { keyring, telegramBotToken: "456:second" });
    expect(result.credentialsSealed).toBe(true);
    const after = await snapshot();
    expect({ ...after, channels: undefined }).toEqual({ ...before, channels: undefined });
    const [channel] = await admin.db.select().from(channels).where(eq(channels.id, DEMO_TELEGRAM_CHANNEL_ID));
    expect(await openCredentials(keyring, context, channel!.credentials!)).toEqual({ botToken: "456:second" });
  });
});
