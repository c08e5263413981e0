import type { ChannelAdapter } from "../adapter";
import { readChannelSettings, voiceSettings } from "../config";
import { twilioNumberConnection } from "../sms/connection";
import { verifyTwilioWebhook } from "../sms/signature";
import type { CallSettings } from "./relay";
import { voiceSender } from "./sender";
import { answerCall, normalizeTwilioVoice, twilioVoiceWebhook, type TwilioVoiceWebhook } from "./webhook";

/** The call's settings the voice URL carries, so the edge answers a call without a database read. */
function callSettingsOf(settings: Record<string, unknown>): CallSettings {
  const read = readChannelSettings(settings);
  return {
    ...(read.welcomeMessage ? { greeting: read.welcomeMessage } : {}),
    ...(read.language ? { language: read.language } : {}),
    ...(read.voice ? { voice: read.voice } : {}),
    ...(read.interruptible !== undefined ? { interruptible: read.interruptible } : {}),
    ...(read.transferTo ? { transferTo: read.transferTo } : {}),
    ...(read.maxCallMinutes ? { maxCallMinutes: read.maxCallMinutes } : {}),
    ...(read.recording ? { record: true } : {}),
    ...(read.conversationRelay === false ? { gather: true } : {}),
  };
}

/**
 * Phone calls through Twilio Programmable Voice and ConversationRelay, at
 * `/webhooks/twilio/voice/<address>`: the call webhook (signed like SMS's, the auth token sealed
 * into the URL) is answered with TwiML connecting the call to `/voice/relay/<address>/<call>` on
 * this edge, where the call's Durable Object holds the WebSocket: each final prompt becomes a turn
 * on the queue like any message (the transcript is the conversation), the reply comes back to the
 * object and is spoken. A handoff ends the relay and transfers the call to `transferTo`.
 */
export const voiceAdapter: ChannelAdapter = {
  kind: "voice",
  displayName: "Voice",
  capabilities: { textLimit: 4000, buttons: 0, media: false, templates: false, streaming: true, deliveryStatuses: true },
  settings: voiceSettings,
  webhookRoute: "twilio/voice",
  webhook: {
    verifyBody: verifyTwilioWebhook("voice"),
    format: "form",
    payload: twilioVoiceWebhook,
    payloadName: "a Twilio voice webhook",
    normalize: (address, payload: TwilioVoiceWebhook, receivedAt, request) => normalizeTwilioVoice(address, payload, receivedAt, request),
    acknowledge: (_result, { request, payload }) => answerCall(request, payload as TwilioVoiceWebhook),
  },
  connection: twilioNumberConnection({
    settings: voiceSettings,
    webhook: "VoiceUrl",
    fact: "voiceUrl",
    query: (settings) => ({ v: JSON.stringify(callSettingsOf(settings)) }),
  }),
  sender: voiceSender,
  endUserIdentity: (sender) => ({ phone: sender.id }),
};
