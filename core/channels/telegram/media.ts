import type { ChannelMedia } from "../adapter";
import { TelegramBotApi } from "./bot-api";

/** Telegram documents: `getFile`, then the file download (bots may fetch up to 20 MB). */
export const telegramMedia: ChannelMedia = {
  lookUp: "documents",
  fetcher(credentials, endpoints, maxBytes) {
    const api = new TelegramBotApi({ apiBase: endpoints.telegramApiBase, token: credentials.botToken ?? "" });
    return async (attachment) => {
      if (attachment.fileSize !== undefined && attachment.fileSize > maxBytes) return {};
      const file = await api.getFile(attachment.fileId);
      if (!file.file_path || (file.file_size ?? 0) > maxBytes) return file.file_size !== undefined ? { fileSize: file.file_size } : {};
      const bytes = await api.downloadFile(file.file_path, maxBytes);
      return { bytes, fileSize: bytes.length };
    };
  },
};
