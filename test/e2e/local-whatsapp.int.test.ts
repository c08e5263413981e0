import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signWhatsAppBody } from "../../core/channels/whatsapp/signature";
import { localWhatsAppAppSecret } from "../../scripts/local-keys";
import { LOCAL_DEMO_PHONE_NUMBER_ID, startLocalStack, writeStackState, type LocalStack } from "../../scripts/local-stack";
import { runStackCli } from "../support/cli";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { contact, textMessage, whatsappPayload } from "../support/whatsapp";

/** What `npm start` runs for WhatsApp: the fake Graph API, a local app secret, a demo channel; and `npm run chat -- --channel whatsapp`. */
describe("the local stack's WhatsApp demo", () => {
  let database: TestDatabase;
  let stack: LocalStack;
  let dataDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), "wa-stack-"));
    stack = await startLocalStack({
      dataDir,
      database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
      withChroma: false,
      demoWhatsApp: true,
      output: "quiet",
      poolEnv: { POOL_WAIT_TIME_SECONDS: "1", LOG_LEVEL: "warn" },
    });
    await writeStackState(dataDir, stack);
  });
  afterAll(async () => {
    await stack?.stop();
    await database?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("answers a signed WhatsApp webhook through the queue and the pool, and refuses an unsigned one", async () => {
    const url = `${stack.edge.url}/webhooks/whatsapp/${stack.demo!.whatsappAddress!}`;
    const raw = JSON.stringify(
      whatsappPayload(
        [{ contacts: [contact("16505550999")], messages: [textMessage("16505550999", "hi from WhatsApp")] }],
        LOCAL_DEMO_PHONE_NUMBER_ID,
      ),
    );
    const unsigned = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: raw });
    expect(unsigned.status).toBe(401);
    const signature = await signWhatsAppBody(await localWhatsAppAppSecret(stack.keys), raw);
    const signed = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": signature },
      body: raw,
    });
    expect(signed.status).toBe(200);
    const [reply] = await stack.whatsapp!.waitForSent("16505550999", 1, 30_000);
    expect(JSON.stringify(reply!.body)).toContain("hi from WhatsApp");
  });

  it("npm run chat -- --channel whatsapp talks to the agent through it", async () => {
    const { output, code } = await runStackCli(
      "chat.ts",
      ["--channel", "whatsapp", "--from", "16505550777"],
      "where is my order?\n",
      dataDir,
    );
    expect(output).toContain("Chatting with the demo agent as WhatsApp user +16505550777");
    expect(output).toMatch(/agent> .*where is my order\?/);
    expect(code).toBe(0);
  });
});
