import type { ChannelAdapter } from "../adapter";
import { whatsappSettings } from "../config";
import { WHATSAPP_TEXT_LIMIT } from "./graph-api";
import { whatsappConnection } from "./connection";
import { whatsappMedia } from "./media";
import { whatsappSender } from "./sender";
import { verifyWhatsAppSignature, verifyWhatsAppVerifyToken } from "./signature";
import { normalizeWhatsAppWebhook, whatsappWebhook, type WhatsAppWebhook } from "./webhook";

/**
 * WhatsApp Cloud API: every webhook is signed with the platform's Meta app secret
 * (`X-Hub-Signature-256` over the raw bytes, checked before anything is parsed); Meta's `GET`
 * handshake echoes `hub.challenge` when `hub.verify_token` is the channel's derived token. One
 * payload may carry several messages and statuses: all are queued, in order.
 */
export const whatsappAdapter: ChannelAdapter = {
  kind: "whatsapp",
  displayName: "WhatsApp",
  capabilities: { textLimit: WHATSAPP_TEXT_LIMIT, buttons: 3, media: true, templates: true, streaming: false, deliveryStatuses: true },
  settings: whatsappSettings,
  webhook: {
    async verifyBody({ headers, secrets }, rawBody) {
      if (!secrets.whatsappAppSecret) {
        return { ok: false, status: 503, reason: "no_app_secret", message: "WhatsApp webhooks are not configured here." };
      }
      return (await verifyWhatsAppSignature(secrets.whatsappAppSecret, rawBody, headers.get("x-hub-signature-256") ?? undefined))
        ? { ok: true }
        : { ok: false, status: 401, reason: "bad_signature", message: "Missing or wrong X-Hub-Signature-256." };
    },
    payload: whatsappWebhook,
    payloadName: "a WhatsApp webhook payload",
    normalize: (address, payload: WhatsAppWebhook, receivedAt) => normalizeWhatsAppWebhook(address, payload, receivedAt),
    acknowledge: ({ messages, ignored }) => ({ ok: true, queued: messages.length, ignored: ignored.length }),
    async handshake({ address, query, secrets }) {
      const challenge = query.get("hub.challenge") ?? "";
      const valid = await verifyWhatsAppVerifyToken(secrets.signingKey, address, query.get("hub.verify_token") ?? undefined);
      if (query.get("hub.mode") !== "subscribe" || !valid || !challenge || challenge.length > 256)
        return { status: 403, text: "Forbidden" };
      return { status: 200, text: challenge };
    },
  },
  connection: whatsappConnection,
  sender: whatsappSender,
  media: whatsappMedia,
  // `wa_id` is the number in international form without the plus (checked at the edge: 6-20 digits).
  endUserIdentity: (sender) => ({ phone: `+${sender.id}`, ...(sender.name ? { name: sender.name } : {}) }),
};
