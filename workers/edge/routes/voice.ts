import { Hono, type Context } from "hono";
import { formatChannelAddress, parseChannelAddress } from "../../../core/channels/address";
import { openWebhookSeal } from "../../../core/channels/credentials";
import { gatherTurn } from "../../../core/channels/voice/webhook";
import { CALL_SID, readCallSettings, redirectTwiml, RELAY_HEADERS, sayThenEnd, verifyRelayToken } from "../../../core/channels/voice/relay";
import type { AppEnv } from "../context";
import type { VoiceCall } from "../durable/voice-call";
import { errorResponse } from "../errors";
import { publicBaseUrl } from "./v1/run";

/**
 * `/voice/relay/<address>/<call>`: Twilio's ConversationRelay WebSocket for one call (the TwiML the
 * voice webhook answered points here, with the call's token), handed to the call's Durable Object;
 * `POST …/reply` is where the pool delivers the call's replies (the URL travels with each prompt).
 * Both check the token (HMAC of the signing key, the address and the call) before anything else.
 */
export const voiceRoutes = new Hono<AppEnv>()
  .get("/relay/:address/:callSid", async (c) => {
    const call = await callOf(c);
    if (call instanceof Response) return call;
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
      return errorResponse(c, 400, "INVALID_REQUEST", "This is a WebSocket endpoint.");
    const headers = new Headers(c.req.raw.headers);
    const address = formatChannelAddress(call.address);
    headers.set(RELAY_HEADERS.address, address);
    headers.set(RELAY_HEADERS.callSid, call.callSid);
    headers.set(
      RELAY_HEADERS.replyUrl,
      `${publicBaseUrl(c).replace(/\/+$/, "")}/voice/relay/${address}/${call.callSid}/reply?t=${encodeURIComponent(call.token)}`,
    );
    const minutes = c.req.query("m");
    if (minutes) headers.set(RELAY_HEADERS.maxMinutes, minutes);
    const seal = c.req.query("r");
    const keyring = c.get("services").keyring;
    if (seal && keyring) {
      // The tenant turned recording on: the object starts it with the account's token once the call is set up.
      const authToken = await openWebhookSeal(keyring, "voice", call.address, seal);
      if (authToken) headers.set(RELAY_HEADERS.recordWith, authToken);
    }
    c.get("logger").log("info", "voice.call_connected", {
      tenantId: call.address.tenantId,
      channelId: call.address.channelId,
      callSid: call.callSid,
    });
    return call.stub.fetch(new Request(c.req.url, { headers }));
  })
  // Without ConversationRelay: Twilio, redirected here after `<Gather>` heard the caller, waits for the reply.
  .post("/gather/:address/:callSid/wait", async (c) => {
    const call = await callOf(c);
    if (call instanceof Response) return call;
    const n = c.req.query("n") ?? "";
    const next = c.req.query("next") ?? "";
    const ours = `${publicBaseUrl(c).replace(/\/+$/, "")}/webhooks/twilio/voice/${formatChannelAddress(call.address)}?`;
    if (!/^\d{1,5}$/.test(n) || !next.startsWith(ours)) return errorResponse(c, 400, "INVALID_QUERY", "Not a wait of this call.");
    const answer = await call.stub.fetch(
      new Request(new URL("/wait", c.req.url), { method: "POST", body: JSON.stringify({ turn: `${call.callSid}:${n}` }) }),
    );
    const reply = (await answer.json()) as { text?: string; handoff?: boolean };
    const received = new URL(c.req.url);
    if (typeof reply.text !== "string")
      return redirectTwiml(`${publicBaseUrl(c).replace(/\/+$/, "")}${received.pathname}${received.search}`, true);
    const voiceUrl = new URL(next);
    const settings = readCallSettings(voiceUrl.searchParams.get("v"));
    if (reply.handoff) return sayThenEnd(reply.text, settings, true);
    return gatherTurn(voiceUrl, Number(n) + 1, settings, reply.text);
  })
  .post("/relay/:address/:callSid/reply", async (c) => {
    const call = await callOf(c);
    if (call instanceof Response) return call;
    return call.stub.fetch(
      new Request(c.req.url, { method: "POST", headers: { "content-type": "application/json" }, body: await c.req.text() }),
    );
  });

async function callOf(c: Context<AppEnv>) {
  const address = parseChannelAddress(c.req.param("address") ?? "");
  const callSid = c.req.param("callSid") ?? "";
  if (!address || !CALL_SID.test(callSid)) return errorResponse(c, 404, "NOT_FOUND", "Unknown call.");
  const token = c.req.query("t") ?? null;
  if (!(await verifyRelayToken(c.get("services").config.WEBHOOK_SIGNING_KEY, address, callSid, token))) {
    c.get("logger").log("warn", "voice.bad_token", { tenantId: address.tenantId, channelId: address.channelId });
    return errorResponse(c, 403, "FORBIDDEN", "Missing or wrong call token.");
  }
  const namespace = c.env.VOICE_CALLS as DurableObjectNamespace<VoiceCall> | undefined;
  if (!namespace) return errorResponse(c, 503, "VOICE_UNAVAILABLE", "Voice calls are not configured here.");
  const stub = namespace.get(namespace.idFromName(`${formatChannelAddress(address)}/${callSid}`));
  return { address, callSid, token: token!, stub };
}
