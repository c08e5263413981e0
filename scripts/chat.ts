/**
 * `npm run chat`: talk to the demo agent as a Telegram (default), WhatsApp or SMS user would. Each
 * line goes to the running edge as the provider's real webhook (Telegram's `Update` with the
 * channel's secret header; WhatsApp's Cloud API payload signed with the local app secret; for SMS,
 * the fake Twilio posts its form signed with the account's auth token to the number's webhook); the
 * reply is read back from the provider fake once the agent sends it. Needs `npm start` running.
 *   --channel telegram|whatsapp|sms   which channel to talk through (default telegram)
 *   --chat-id N                       Telegram: which chat to be (default 424242; the conversation continues across runs)
 *   --from DIGITS                     WhatsApp: which number to be (default 16505550123); SMS: +E.164 (default +14155550123)
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { parseChannelAddress } from "../core/channels/address";
import { telegramWebhookSecret } from "../core/channels/telegram/webhook-secret";
import { signWhatsAppBody } from "../core/channels/whatsapp/signature";
import { LOCAL_DEMO_PHONE_NUMBER_ID, PROJECT_ROOT, type StackState } from "./local-stack";
import { loadOrCreateKeys, localWhatsAppAppSecret } from "./local-keys";

/** Where `npm start` keeps its state; AGENT_STACK_DIR points elsewhere (tests run their own stack). */
const dataDir = process.env.AGENT_STACK_DIR ?? join(PROJECT_ROOT, ".data");

/** One way to talk to the agent: post a line as the provider would, read back what was sent. */
interface ChatChannel {
  who: string;
  send(text: string): Promise<Response>;
  /** Every reply text sent to this user so far, oldest first. */
  sent(): Promise<string[]>;
}

async function main() {
  const { values } = parseArgs({
    options: { channel: { type: "string", default: "telegram" }, "chat-id": { type: "string" }, from: { type: "string" } },
  });
  let state: StackState;
  try {
    state = JSON.parse(await readFile(join(dataDir, "stack.json"), "utf8")) as StackState;
  } catch {
    throw new Error("the local stack is not running: start it with `npm start` in another terminal");
  }
  const health = await fetch(`${state.edgeUrl}/healthz`).catch(() => undefined);
  if (!health?.ok) throw new Error(`the edge at ${state.edgeUrl} is not answering: is \`npm start\` running?`);
  const keys = await loadOrCreateKeys(join(dataDir, "keys.json"));
  const channel =
    values.channel === "whatsapp"
      ? await whatsappChannel(state, keys, values.from ?? "16505550123")
      : values.channel === "sms"
        ? smsChannel(state, values.from ?? "+14155550123")
        : values.channel === "telegram"
          ? await telegramChannel(state, keys, Number(values["chat-id"] ?? 424242))
          : undefined;
  if (!channel) throw new Error("--channel is telegram, whatsapp or sms");

  let seen = (await channel.sent()).length;
  const prompt = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  console.log(`Chatting with the demo agent as ${channel.who}. Ctrl-D to leave.`);
  prompt.setPrompt("you> ");
  prompt.prompt();
  for await (const text of prompt) {
    if (!text.trim()) {
      prompt.prompt();
      continue;
    }
    const response = await channel.send(text);
    if (!response.ok) {
      console.log(`(the edge refused the message: ${response.status} ${await response.text()})`);
      prompt.prompt();
      continue;
    }
    const replies = await waitForReplies(channel, seen, 60_000);
    if (replies.length === 0) console.log("(no reply within 60 s: see .data/logs/services.log)");
    for (const reply of replies) console.log(`agent> ${reply}`);
    seen += replies.length;
    prompt.prompt();
  }
}

async function telegramChannel(state: StackState, keys: { WEBHOOK_SIGNING_KEY: string }, chatId: number): Promise<ChatChannel> {
  if (!Number.isSafeInteger(chatId)) throw new Error("--chat-id needs an integer");
  const address = state.demoChannelAddress ? parseChannelAddress(state.demoChannelAddress) : undefined;
  if (!address) throw new Error("the running stack has no demo channel");
  const sentUrl = `${state.telegramApiBase}/_fake/sent?chat_id=${chatId}`;
  if (!(await fetch(sentUrl).catch(() => undefined))?.ok) {
    throw new Error("the stack talks to the real Telegram (TELEGRAM_BOT_TOKEN): message your bot in the Telegram app instead");
  }
  const secret = await telegramWebhookSecret(keys.WEBHOOK_SIGNING_KEY, address);
  let updateId = Date.now();
  let messageId = Math.floor(Date.now() / 1000);
  return {
    who: `Telegram chat ${chatId}`,
    send: (text) =>
      fetch(`${state.edgeUrl}/webhooks/telegram/${state.demoChannelAddress}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
        body: JSON.stringify({
          update_id: updateId++,
          message: {
            message_id: messageId++,
            date: Math.floor(Date.now() / 1000),
            chat: { id: chatId, type: "private", first_name: "You" },
            from: { id: chatId, is_bot: false, first_name: "You", language_code: "en" },
            text,
          },
        }),
      }),
    sent: async () => ((await (await fetch(sentUrl)).json()) as { result: Array<{ text: string }> }).result.map((m) => m.text),
  };
}

async function whatsappChannel(state: StackState, keys: { WEBHOOK_SIGNING_KEY: string }, from: string): Promise<ChatChannel> {
  if (!/^\d{6,20}$/.test(from)) throw new Error("--from needs a number's digits, e.g. 16505550123");
  if (!state.demoWhatsAppAddress || !state.whatsappApiBase)
    throw new Error("the running stack has no demo WhatsApp channel: restart `npm start`");
  const appSecret = await localWhatsAppAppSecret(keys);
  const sentUrl = `${new URL(state.whatsappApiBase).origin}/_fake/sent?to=${from}`;
  return {
    who: `WhatsApp user +${from}`,
    async send(text) {
      const body = JSON.stringify({
        object: "whatsapp_business_account",
        entry: [
          {
            id: "100000000000000",
            changes: [
              {
                field: "messages",
                value: {
                  messaging_product: "whatsapp",
                  metadata: { display_phone_number: "15550100001", phone_number_id: LOCAL_DEMO_PHONE_NUMBER_ID },
                  contacts: [{ wa_id: from, profile: { name: "You" } }],
                  messages: [
                    {
                      from,
                      id: `wamid.${randomBytes(12).toString("hex")}`,
                      timestamp: String(Math.floor(Date.now() / 1000)),
                      type: "text",
                      text: { body: text },
                    },
                  ],
                },
              },
            ],
          },
        ],
      });
      return fetch(`${state.edgeUrl}/webhooks/whatsapp/${state.demoWhatsAppAddress}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": await signWhatsAppBody(appSecret, body) },
        body,
      });
    },
    async sent() {
      const { result } = (await (await fetch(sentUrl)).json()) as { result: Array<{ type: string; body: Record<string, unknown> }> };
      return result.map((message) => whatsappText(message));
    },
  };
}

function smsChannel(state: StackState, from: string): ChatChannel {
  if (!/^\+[1-9]\d{7,14}$/.test(from)) throw new Error("--from needs a number in E.164 form for SMS, e.g. +14155550123");
  const sms = state.sms;
  if (!sms) throw new Error("the running stack has no demo SMS channel: restart `npm start`");
  return {
    who: `SMS from ${from} to ${sms.phoneNumber}`,
    async send(text) {
      // The fake plays Twilio: it posts the signed webhook to the number's SmsUrl and says how the edge answered.
      const answer = await fetch(`${sms.twilioApiBase}/_fake/text`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ from, to: sms.phoneNumber, body: text }),
      });
      const { status, body } = (await answer.json()) as { status: number; body: string };
      return new Response(body, { status });
    },
    async sent() {
      const found = await fetch(`${sms.twilioApiBase}/_fake/sent?to=${encodeURIComponent(from)}`);
      return ((await found.json()) as { result: Array<{ body: string }> }).result.map((message) => message.body);
    },
  };
}

/** What a sent WhatsApp message says: its text, a button message's body and choices, or the template's name. */
function whatsappText(message: { type: string; body: Record<string, unknown> }): string {
  const body = message.body as {
    text?: { body?: string };
    interactive?: { body?: { text?: string }; action?: { buttons?: Array<{ reply?: { title?: string } }> } };
    template?: { name?: string };
  };
  if (message.type === "text") return body.text?.body ?? "";
  if (message.type === "interactive") {
    const choices = (body.interactive?.action?.buttons ?? []).map((button) => `[${button.reply?.title ?? ""}]`).join(" ");
    return `${body.interactive?.body?.text ?? ""} ${choices}`.trim();
  }
  return `(template ${body.template?.name ?? "?"})`;
}

async function waitForReplies(channel: ChatChannel, seen: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const sent = await channel.sent();
    if (sent.length > seen) return sent.slice(seen);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return [];
}

main().catch((error) => {
  console.error(`npm run chat: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
