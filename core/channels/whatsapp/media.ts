import type { ChannelMedia } from "../adapter";
import { sha256Hex } from "../../crypto/hmac";
import { WhatsAppGraphApi } from "./graph-api";

/** WhatsApp media: `GET /<media-id>` for type and size, then the download, its SHA-256 checked. */
export const whatsappMedia: ChannelMedia = {
  lookUp: "every",
  fetcher(credentials, endpoints, maxBytes) {
    const api = new WhatsAppGraphApi({ apiBase: endpoints.whatsappApiBase, accessToken: credentials.accessToken ?? "" });
    return async (attachment) => {
      const info = await api.getMedia(attachment.fileId);
      const mimeType = info.mime_type;
      if (info.file_size !== undefined && info.file_size > maxBytes) return { fileSize: info.file_size, ...(mimeType ? { mimeType } : {}) };
      const bytes = await api.downloadMedia(info.url);
      if (info.sha256 && (await sha256Hex(bytes)) !== info.sha256.toLowerCase()) throw new Error("media checksum mismatch");
      return { bytes, fileSize: bytes.length, ...(mimeType ? { mimeType } : {}) };
    };
  },
};
