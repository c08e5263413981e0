import { z } from "zod";
import { constantTimeEqual, deriveSecret } from "../../crypto/hmac";
import { formatChannelAddress, type ChannelAddress } from "../address";

/**
 * Twilio ConversationRelay: Twilio holds the call, turns the caller's speech into text and our text
 * into speech, and talks to us over one WebSocket per call, which the edge hands to the call's
 * Durable Object (workers/edge/durable/voice-call.ts). This file is what both ends agree on: the
 * relay URL's token, the messages Twilio sends, and the TwiML that starts and ends a relay.
 */

/** A call's relay and reply URLs carry this token (HMAC of the signing key, the address and the call): no database, no guessing. */
export function relayToken(signingKey: string, address: ChannelAddress, callSid: string): Promise<string> {
  return deriveSecret(signingKey, "voice-relay", `${formatChannelAddress(address)}/${callSid}`);
}

export async function verifyRelayToken(
  signingKey: string,
  address: ChannelAddress,
  callSid: string,
  token: string | null,
): Promise<boolean> {
  if (!token || token.length > 128) return false;
  return constantTimeEqual(token, await relayToken(signingKey, address, callSid));
}

export const CALL_SID = /^CA[0-9a-f]{32}$/;

/**
 * What is left to speak of a reply once its tokens have been streamed into the call: the rest when
 * the reply continues what was streamed; nothing when what was streamed ends with the reply (the
 * model spoke before calling a tool, then answered); the whole reply when it is another text (a
 * fallback model's answer after the first failed mid-stream, or the apology after every model
 * failed), so the caller always hears the reply that is recorded.
 */
export function unspokenRest(streamed: string, reply: string): string {
  if (reply.startsWith(streamed)) return reply.slice(streamed.length);
  if (streamed.trimEnd().endsWith(reply.trim())) return "";
  return reply;
}

/** What the edge's relay route tells the call's Durable Object when it hands it the WebSocket. */
export const RELAY_HEADERS = {
  address: "x-voice-address",
  callSid: "x-voice-call",
  replyUrl: "x-voice-reply-url",
  maxMinutes: "x-voice-max-minutes",
  /** The account's auth token, opened from the seal, when the call is to be recorded (never leaves the edge). */
  recordWith: "x-voice-record-with",
} as const;

/** What Twilio sends on the relay WebSocket (its documented message types; unknown fields are ignored). */
export const relayMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("setup"),
    sessionId: z.string().max(128),
    callSid: z.string().regex(CALL_SID),
    accountSid: z
      .string()
      .regex(/^AC[0-9a-f]{32}$/)
      .optional(),
    from: z.string().max(64),
    to: z.string().max(64),
    customParameters: z.record(z.string(), z.string()).optional(),
  }),
  z.object({
    type: z.literal("prompt"),
    voicePrompt: z.string().max(8192),
    lang: z.string().max(35).optional(),
    last: z.boolean().optional(),
  }),
  z.object({
    type: z.literal("interrupt"),
    utteranceUntilInterrupt: z.string().max(32_768),
    durationUntilInterruptMs: z.number().optional(),
  }),
  z.object({ type: z.literal("dtmf"), digit: z.string().max(4) }),
  z.object({ type: z.literal("error"), description: z.string().max(2000).optional() }),
]);
export type RelayMessage = z.infer<typeof relayMessage>;

/** The call's settings as the number's voice URL carries them (`v`), set when the channel is connected. */
export const callSettings = z.object({
  greeting: z.string().max(1000).optional(),
  language: z.string().max(35).optional(),
  voice: z.string().max(64).optional(),
  interruptible: z.boolean().optional(),
  transferTo: z.string().max(32).optional(),
  maxCallMinutes: z.number().int().min(1).max(240).optional(),
  record: z.boolean().optional(),
  gather: z.boolean().optional(),
});
export type CallSettings = z.infer<typeof callSettings>;

export function readCallSettings(encoded: string | null): CallSettings {
  if (!encoded) return {};
  try {
    const parsed = callSettings.safeParse(JSON.parse(encoded));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

const escape = (value: string) =>
  value.replace(/[<>&"']/g, (char) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[char]!);

const twiml = (body: string) =>
  new Response(`<?xml version="1.0" encoding="UTF-8"?><Response>${body}</Response>`, {
    status: 200,
    headers: { "content-type": "text/xml; charset=utf-8" },
  });

/** Answers a call: connect it to our relay, greet the caller; when the relay ends Twilio asks `action`. */
export function connectRelayTwiml(options: { relayUrl: string; action: string; settings: CallSettings; from: string }): Response {
  const { settings } = options;
  const attributes = [
    ["url", options.relayUrl],
    ["welcomeGreeting", settings.greeting ?? "Hello! How can I help you today?"],
    ...(settings.language ? [["language", settings.language]] : []),
    ...(settings.voice ? [["voice", settings.voice]] : []),
    ["interruptible", settings.interruptible === false ? "none" : "any"],
    ["dtmfDetection", "true"],
  ]
    .map(([name, value]) => `${name}="${escape(value!)}"`)
    .join(" ");
  return twiml(
    `<Connect action="${escape(options.action)}"><ConversationRelay ${attributes}><Parameter name="caller" value="${escape(options.from)}"/></ConversationRelay></Connect>`,
  );
}

/** After the relay: a handoff dials the tenant's number; anything else says goodbye and hangs up. */
export function afterRelayTwiml(handoffData: string | undefined, settings: CallSettings): Response {
  let reason: unknown;
  try {
    reason = handoffData ? (JSON.parse(handoffData) as { reason?: unknown }).reason : undefined;
  } catch {
    reason = undefined;
  }
  if (reason === "handoff" && settings.transferTo) {
    return twiml(`<Say>Connecting you to a person now.</Say><Dial>${escape(settings.transferTo)}</Dial>`);
  }
  if (reason === "handoff") return twiml("<Say>A person will get back to you soon. Goodbye.</Say><Hangup/>");
  return twiml("<Hangup/>");
}

/**
 * The fallback without ConversationRelay: `<Gather input="speech">` (Twilio's speech-to-text, the
 * words posted to `action`), saying `say` first; with no speech Twilio follows `<Redirect>` to
 * `listen`.
 */
export function gatherTwiml(options: { action: string; listen: string; settings: CallSettings; say?: string; before?: string }): Response {
  const { settings } = options;
  const language = settings.language ? ` language="${escape(settings.language)}"` : "";
  const voice = settings.voice ? ` voice="${escape(settings.voice)}"` : "";
  const say = options.say ? `<Say${voice}${language}>${escape(options.say)}</Say>` : "";
  return twiml(
    `${options.before ?? ""}<Gather input="speech" method="POST" speechTimeout="auto" action="${escape(options.action)}"${language}>${say}</Gather><Redirect method="POST">${escape(options.listen)}</Redirect>`,
  );
}

/** Says the agent's last words, then transfers the call or hangs up (the `<Gather>` fallback's handoff and goodbye). */
export function sayThenEnd(text: string, settings: CallSettings, transfer: boolean): Response {
  const voice = settings.voice ? ` voice="${escape(settings.voice)}"` : "";
  const end = transfer && settings.transferTo ? `<Dial>${escape(settings.transferTo)}</Dial>` : "<Hangup/>";
  return twiml(`<Say${voice}>${escape(text)}</Say>${end}`);
}

/** Sends Twilio on to `url`; `pause`: after a second (the reply is not ready, and Twilio allows 15 s per request). */
export function redirectTwiml(url: string, pause = false): Response {
  return twiml(`${pause ? '<Pause length="1"/>' : ""}<Redirect method="POST">${escape(url)}</Redirect>`);
}
