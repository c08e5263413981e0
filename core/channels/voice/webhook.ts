import { z } from "zod";
import type { NormalizedPayload, WebhookRequest } from "../adapter";
import { afterRelayTwiml, CALL_SID, connectRelayTwiml, readCallSettings, relayToken } from "./relay";
import { formatChannelAddress } from "../address";

/**
 * What Twilio posts to a number's voice URL when a call comes in, and to `<Connect action>` when
 * the relay ends (`HandoffData` when we ended it with one).
 */
export const twilioVoiceWebhook = z
  .object({
    CallSid: z.string().regex(CALL_SID, "a Twilio call SID"),
    AccountSid: z.string().regex(/^AC[0-9a-f]{32}$/, "a Twilio account SID"),
    From: z.string().min(1).max(64),
    To: z.string().min(1).max(64),
    HandoffData: z.string().max(4096).optional(),
  })
  .catchall(z.string().max(4096));
export type TwilioVoiceWebhook = z.infer<typeof twilioVoiceWebhook>;

/** Nothing is queued when a call starts or its relay ends: the words come over the relay. */
export function normalizeTwilioVoice(): NormalizedPayload {
  return { messages: [], ignored: [] };
}

/**
 * The TwiML for a call: a new call is connected to the relay WebSocket on this edge (its URL
 * carries the call's token); the relay's end (`step=ended`, which Twilio signs like the rest) is
 * transferred or hung up.
 */
export async function answerCall(request: WebhookRequest, call: TwilioVoiceWebhook): Promise<Response> {
  const url = new URL(request.url);
  const settings = readCallSettings(url.searchParams.get("v"));
  if (url.searchParams.get("step") === "ended") return afterRelayTwiml(call.HandoffData, settings);
  const token = await relayToken(request.secrets.signingKey, request.address, call.CallSid);
  const relay = new URL(`/voice/relay/${formatChannelAddress(request.address)}/${call.CallSid}`, url);
  relay.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const seal = url.searchParams.get("s");
  relay.search = new URLSearchParams({
    t: token,
    ...(settings.maxCallMinutes ? { m: String(settings.maxCallMinutes) } : {}),
    // Recording needs the account's token at the edge: the same seal, opened only by the relay route.
    ...(settings.record && seal ? { r: seal } : {}),
  }).toString();
  // Appended, not re-serialised: the URL stays exactly the one Twilio was given (and signs).
  const action = `${request.url}${url.search ? "&" : "?"}step=ended`;
  return connectRelayTwiml({ relayUrl: relay.toString(), action, settings, from: call.From });
}
