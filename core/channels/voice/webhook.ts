import { z } from "zod";
import type { NormalizedPayload, WebhookRequest } from "../adapter";
import { formatChannelAddress, type ChannelAddress } from "../address";
import { inboundChatMessage } from "../../queue/builders";
import {
  afterRelayTwiml,
  CALL_SID,
  connectRelayTwiml,
  gatherTwiml,
  readCallSettings,
  redirectTwiml,
  relayToken,
  sayThenEnd,
  type CallSettings,
} from "./relay";

/**
 * What Twilio posts to a number's voice URL when a call comes in, to `<Connect action>` when the
 * relay ends (`HandoffData` when we ended it with one), and, without ConversationRelay, to
 * `<Gather action>` with what the caller said (`SpeechResult`).
 */
export const twilioVoiceWebhook = z
  .object({
    CallSid: z.string().regex(CALL_SID, "a Twilio call SID"),
    AccountSid: z.string().regex(/^AC[0-9a-f]{32}$/, "a Twilio account SID"),
    From: z.string().min(1).max(64),
    To: z.string().min(1).max(64),
    HandoffData: z.string().max(4096).optional(),
    SpeechResult: z.string().max(8192).optional(),
  })
  .catchall(z.string().max(4096));
export type TwilioVoiceWebhook = z.infer<typeof twilioVoiceWebhook>;

/** Which turn of a `<Gather>` call a request belongs to (`n`, 1 for the first). */
const turnOf = (url: URL) => {
  const n = Number(url.searchParams.get("n"));
  return Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : 1;
};

/** The number's voice URL without this module's own steps: what each step's URL is made from. */
function voiceBase(url: URL): URL {
  const base = new URL(url);
  for (const name of ["step", "n", "quiet"]) base.searchParams.delete(name);
  return base;
}

const withParams = (base: URL, params: Record<string, string>) => {
  const next = new URL(base);
  for (const [name, value] of Object.entries(params)) next.searchParams.set(name, value);
  return next.toString();
};

/**
 * One `<Gather>` turn of a call without ConversationRelay: say `say`, listen for turn `n` (its
 * words posted to the voice URL `base` as `step=heard`), and on silence go to `step=listen`
 * (`quiet`: the second silence, after which the call ends). The voice webhook and the wait route
 * both answer with it.
 */
export function gatherTurn(base: URL, n: number, settings: CallSettings, say: string | undefined, quiet = false): Response {
  return gatherTwiml({
    action: withParams(base, { step: "heard", n: String(n) }),
    listen: withParams(base, { step: "listen", n: String(n), ...(quiet ? { quiet: "1" } : {}) }),
    settings,
    ...(say ? { say } : {}),
  });
}

/** Where the pool delivers a call's replies (the call's Durable Object), with the call's token; `g=1`: kept for the `<Gather>` wait. */
async function replyUrl(request: WebhookRequest, callSid: string, gather: boolean): Promise<string> {
  const token = await relayToken(request.secrets.signingKey, request.address, callSid);
  const url = new URL(`/voice/relay/${formatChannelAddress(request.address)}/${callSid}/reply`, request.url);
  url.search = new URLSearchParams({ t: token, ...(gather ? { g: "1" } : {}) }).toString();
  return url.toString();
}

/**
 * With ConversationRelay nothing is queued here (the words come over the relay). Without it, what
 * `<Gather>` heard is the caller's message: queued as `<CallSid>:<n>`, its reply kept by the
 * call's Durable Object until the wait step asks for it.
 */
export async function normalizeTwilioVoice(
  address: ChannelAddress,
  call: TwilioVoiceWebhook,
  receivedAt: Date,
  request: WebhookRequest,
): Promise<NormalizedPayload> {
  const url = new URL(request.url);
  const words = call.SpeechResult?.trim();
  if (url.searchParams.get("step") !== "heard" || !words) return { messages: [], ignored: [] };
  return {
    messages: [
      inboundChatMessage(
        {
          tenantId: address.tenantId,
          channelId: address.channelId,
          channelKind: "voice",
          conversationKey: call.From,
          providerMessageId: `${call.CallSid}:${turnOf(url)}`,
          receivedAt,
        },
        { text: words, sender: { id: call.From }, sentAt: receivedAt.toISOString(), replyUrl: await replyUrl(request, call.CallSid, true) },
      ),
    ],
    ignored: [],
  };
}

/**
 * The TwiML for a call. With ConversationRelay: connect the call to the relay WebSocket on this
 * edge (its URL carries the call's token); the relay's end (`step=ended`, which Twilio signs like
 * the rest) is transferred or hung up. Without it (`gather`): `<Gather>` with the greeting; what it
 * hears (`step=heard`) goes to the wait route, which says the reply once the pool has it; silence
 * (`step=listen`) asks once more, then says goodbye.
 */
export async function answerCall(request: WebhookRequest, call: TwilioVoiceWebhook): Promise<Response> {
  const url = new URL(request.url);
  const settings = readCallSettings(url.searchParams.get("v"));
  const step = url.searchParams.get("step");
  if (step === "ended") return afterRelayTwiml(call.HandoffData, settings);
  if (settings.gather) return answerGather(request, call, settings);
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

async function answerGather(request: WebhookRequest, call: TwilioVoiceWebhook, settings: CallSettings): Promise<Response> {
  const url = new URL(request.url);
  const base = voiceBase(url);
  const n = turnOf(url);
  const step = url.searchParams.get("step");
  if (step === null) return gatherTurn(base, 1, settings, settings.greeting ?? "Hello! How can I help you today?");
  const heard = step === "heard" && Boolean(call.SpeechResult?.trim());
  if (!heard) {
    if (url.searchParams.get("quiet") === "1") return sayThenEnd("I could not hear you. Goodbye.", settings, false);
    return gatherTurn(base, n, settings, "Are you still there?", true);
  }
  const token = await relayToken(request.secrets.signingKey, request.address, call.CallSid);
  const wait = new URL(`/voice/gather/${formatChannelAddress(request.address)}/${call.CallSid}/wait`, url);
  wait.search = new URLSearchParams({ t: token, n: String(n), next: base.toString() }).toString();
  return redirectTwiml(wait.toString());
}
