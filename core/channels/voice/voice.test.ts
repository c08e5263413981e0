import { describe, expect, it } from "vitest";
import { voiceAdapter } from "./adapter";
import { afterRelayTwiml, readCallSettings, relayMessage, relayToken, unspokenRest, verifyRelayToken } from "./relay";
import { answerCall, twilioVoiceWebhook } from "./webhook";

const address = { tenantId: "6f1c1a52-1f7e-4a51-9b7e-0c1d2e3f4a5b", channelId: "0b6a3c2d-4e5f-4a1b-8c9d-0e1f2a3b4c5d" };
const callSid = `CA${"3".repeat(32)}`;
const signingKey = "test-signing-key-with-enough-length-0123456789";

describe("ConversationRelay", () => {
  it("speaks of a streamed reply only what its tokens did not say", () => {
    expect(unspokenRest("", "Hello there.")).toBe("Hello there.");
    expect(unspokenRest("Hello", "Hello there.")).toBe(" there.");
    expect(unspokenRest("Hello there.", "Hello there.")).toBe("");
    // The model spoke before calling a tool, then answered: all of it was streamed.
    expect(unspokenRest("Let me check. It ships today.", "It ships today.")).toBe("");
    // A fallback's answer after the first model failed mid-stream, or the apology: said whole.
    expect(unspokenRest("Our ship", "Sorry, something went wrong.")).toBe("Sorry, something went wrong.");
  });

  it("binds a call's token to its channel and call", async () => {
    const token = await relayToken(signingKey, address, callSid);
    expect(await verifyRelayToken(signingKey, address, callSid, token)).toBe(true);
    expect(await verifyRelayToken(signingKey, address, `CA${"4".repeat(32)}`, token)).toBe(false);
    expect(await verifyRelayToken(signingKey, { ...address, channelId: address.tenantId }, callSid, token)).toBe(false);
    expect(await verifyRelayToken(signingKey, address, callSid, null)).toBe(false);
  });

  it("answers a call with a relay to this edge over wss, the greeting and settings, and the action that follows it", async () => {
    const url = `https://agents.example.com/webhooks/twilio/voice/x.y?s=sealed&v=${encodeURIComponent(
      JSON.stringify({ greeting: 'Hi & "welcome"', language: "pt-BR", interruptible: false, maxCallMinutes: 15 }),
    )}`;
    const call = twilioVoiceWebhook.parse({
      CallSid: callSid,
      AccountSid: `AC${"a".repeat(32)}`,
      From: "+14155550100",
      To: "+15005550006",
    });
    const twiml = await (
      await answerCall({ address, url, headers: new Headers(), query: new URL(url).searchParams, secrets: { signingKey } }, call)
    ).text();
    const token = await relayToken(signingKey, address, callSid);
    expect(twiml).toContain(
      `url="wss://agents.example.com/voice/relay/${address.tenantId}.${address.channelId}/${callSid}?t=${token}&amp;m=15"`,
    );
    expect(twiml).toContain('welcomeGreeting="Hi &amp; &quot;welcome&quot;"');
    expect(twiml).toContain('language="pt-BR"');
    expect(twiml).toContain('interruptible="none"');
    expect(twiml).toContain(`<Connect action="${url.replaceAll("&", "&amp;")}&amp;step=ended">`);
  });

  it("after the relay, dials the transfer number on a handoff, else hangs up", async () => {
    expect(await afterRelayTwiml('{"reason":"handoff"}', { transferTo: "+14155550999" }).text()).toContain("<Dial>+14155550999</Dial>");
    expect(await afterRelayTwiml('{"reason":"handoff"}', {}).text()).toContain("<Hangup/>");
    expect(await afterRelayTwiml('{"reason":"time_limit"}', { transferTo: "+14155550999" }).text()).not.toContain("<Dial>");
    expect(await afterRelayTwiml("not json", {}).text()).toContain("<Hangup/>");
  });

  it("reads Twilio's relay messages and ignores what it does not know", () => {
    expect(relayMessage.parse({ type: "prompt", voicePrompt: "hello", lang: "en-US", last: true })).toMatchObject({ type: "prompt" });
    expect(relayMessage.parse({ type: "interrupt", utteranceUntilInterrupt: "Your order", durationUntilInterruptMs: 800 })).toMatchObject({
      type: "interrupt",
    });
    expect(relayMessage.safeParse({ type: "info", name: "x" }).success).toBe(false);
    expect(readCallSettings("{bad json")).toEqual({});
    expect(readCallSettings(JSON.stringify({ maxCallMinutes: 9999 }))).toEqual({});
  });

  it("carries the channel's call settings in the number's voice URL", () => {
    expect(voiceAdapter.connection.connectFields.settings).toBeDefined();
    const parsed = voiceAdapter.settings.safeParse({ phoneNumber: "+15005550006", language: "english", transferTo: "555" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path[0])).toEqual(["language", "transferTo"]);
  });
});
