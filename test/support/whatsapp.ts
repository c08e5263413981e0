let next = 1;

/** A WhatsApp Cloud API `messages` change value holding these messages, as Meta sends it. */
export function whatsappPayload(
  changes: Array<{ messages?: unknown[]; statuses?: unknown[]; contacts?: unknown[] }>,
  phoneNumberId = "106540352242922",
) {
  return {
    object: "whatsapp_business_account",
    entry: changes.map((value, index) => ({
      id: `10${index}2837482378`,
      changes: [
        {
          value: {
            messaging_product: "whatsapp",
            metadata: { display_phone_number: "15550100", phone_number_id: phoneNumberId },
            ...value,
          },
          field: "messages",
        },
      ],
    })),
  };
}

export const waId = (n: number) => `1650555${String(n).padStart(4, "0")}`;
export const wamid = () => `wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA${next++}`;
const ts = () => String(Math.floor(Date.now() / 1000));

export const contact = (from: string, name = "Grace Hopper") => ({ profile: { name }, wa_id: from });
export const textMessage = (from: string, body: string, id = wamid()) => ({ from, id, timestamp: ts(), text: { body }, type: "text" });
export const buttonReply = (from: string, id: string, title: string) => ({
  context: { from: "15550100", id: wamid() },
  from,
  id: wamid(),
  timestamp: ts(),
  type: "interactive",
  interactive: { type: "button_reply", button_reply: { id, title } },
});
export const listReply = (from: string, id: string, title: string) => ({
  from,
  id: wamid(),
  timestamp: ts(),
  type: "interactive",
  interactive: { type: "list_reply", list_reply: { id, title, description: "a row" } },
});
export const imageMessage = (from: string, mediaId: string, caption?: string) => ({
  from,
  id: wamid(),
  timestamp: ts(),
  type: "image",
  image: { ...(caption ? { caption } : {}), mime_type: "image/jpeg", sha256: "abc", id: mediaId },
});
export const documentMessage = (from: string, mediaId: string, filename: string, caption?: string) => ({
  from,
  id: wamid(),
  timestamp: ts(),
  type: "document",
  document: { ...(caption ? { caption } : {}), filename, mime_type: "application/pdf", sha256: "abc", id: mediaId },
});
export const audioMessage = (from: string, mediaId: string) => ({
  from,
  id: wamid(),
  timestamp: ts(),
  type: "audio",
  audio: { mime_type: "audio/ogg; codecs=opus", sha256: "abc", id: mediaId, voice: true },
});
export const locationMessage = (from: string) => ({
  from,
  id: wamid(),
  timestamp: ts(),
  type: "location",
  location: { latitude: 51.5074, longitude: -0.1278, name: "Trafalgar Square", address: "London WC2N 5DN" },
});
export const status = (id: string, recipient: string, value: "sent" | "delivered" | "read" | "failed", errors?: unknown[]) => ({
  id,
  status: value,
  timestamp: ts(),
  recipient_id: recipient,
  ...(value !== "failed"
    ? { conversation: { id: "c1", origin: { type: "service" } }, pricing: { billable: true, pricing_model: "CBP", category: "service" } }
    : {}),
  ...(errors ? { errors } : {}),
});
