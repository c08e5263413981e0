import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { channelEmailAddress } from "../../core/channels/email/address";
import { recordingEdgeServices, testEdgeEnv } from "../../test/support/edge";
import { newEmailHandler, type InboundEmailMessage } from "./email";

const signingKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(5)));
const env = testEdgeEnv(signingKey, { EMAIL_DOMAIN: "in.agents.example" });
const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "22222222-2222-4222-8222-222222222222" };
const gmail = readFileSync(new URL("../../test/fixtures/email/gmail-reply.eml", import.meta.url));

function setup(options: { failQueue?: boolean } = {}) {
  const { enqueued, services } = recordingEdgeServices(options);
  const handle = newEmailHandler(services);
  const deliver = async (to: string, raw: Uint8Array, rawSize = raw.byteLength, bindings: Record<string, string> = env) => {
    const rejections: string[] = [];
    const message: InboundEmailMessage = {
      from: "ana.silva@gmail.com",
      to,
      raw: new Response(raw).body!,
      rawSize,
      setReject: (reason) => void rejections.push(reason),
    };
    await handle(message, bindings);
    return rejections;
  };
  return { enqueued, deliver };
}

describe("the edge's email() handler", () => {
  it("queues a message for a channel's address, named by the address alone", async () => {
    const { enqueued, deliver } = setup();
    const to = await channelEmailAddress(signingKey, address, "in.agents.example");
    expect(await deliver(to, gmail)).toEqual([]);
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]).toMatchObject({ kind: "inbound.message", channelKind: "email", ...address, requestId: expect.any(String) });
  });

  it("refuses, with a reason and nothing queued: an unknown address, another signing key's address, a message above 20 MiB", async () => {
    const { enqueued, deliver } = setup();
    expect(await deliver("support@in.agents.example", gmail)).toEqual(["No agent receives mail at this address."]);
    const otherKey = await channelEmailAddress("q".repeat(44), address, "in.agents.example");
    expect(await deliver(otherKey, gmail)).toEqual(["No agent receives mail at this address."]);
    const to = await channelEmailAddress(signingKey, address, "in.agents.example");
    // A 30 MB message is refused by its size before a byte of it is read.
    expect(await deliver(to, gmail, 30 * 1024 * 1024)).toEqual(["The message is larger than 20 MiB."]);
    expect(enqueued).toEqual([]);
  });

  it("refuses all mail where no EMAIL_DOMAIN is configured", async () => {
    const { enqueued, deliver } = setup();
    const to = await channelEmailAddress(signingKey, address, "in.agents.example");
    const { EMAIL_DOMAIN: _unset, ...withoutDomain } = env;
    expect(await deliver(to, gmail, gmail.byteLength, withoutDomain)).toEqual(["This domain does not accept mail."]);
    expect(enqueued).toEqual([]);
  });

  it("throws when the queue cannot take the message, so the sending server retries (nothing is lost)", async () => {
    const { deliver } = setup({ failQueue: true });
    const to = await channelEmailAddress(signingKey, address, "in.agents.example");
    await expect(deliver(to, gmail)).rejects.toThrow(/not queued/);
  });

  it("acknowledges an out-of-office reply without queueing it", async () => {
    const { enqueued, deliver } = setup();
    const to = await channelEmailAddress(signingKey, address, "in.agents.example");
    const ooo = readFileSync(new URL("../../test/fixtures/email/out-of-office.eml", import.meta.url));
    expect(await deliver(to, ooo)).toEqual([]);
    expect(enqueued).toEqual([]);
  });
});
