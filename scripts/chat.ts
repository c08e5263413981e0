/**
 * `npm run chat`: talk to the demo agent as a Telegram user would. Each line goes to the running
 * edge as a real Telegram `Update` with the channel's secret header; the reply is read back from
 * the fake Telegram API once the agent sends it. Needs `npm start` running.
 *   --chat-id N   which Telegram chat to be (default 424242: the conversation continues across runs)
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseChannelAddress } from "../core/channels/address";
import { telegramWebhookSecret } from "../core/channels/telegram/webhook-secret";
import { PROJECT_ROOT } from "./local-stack";
import { loadOrCreateKeys } from "./local-keys";

interface StackState {
  edgeUrl: string;
  telegramApiBase: string;
  demoChannelAddress?: string;
}

const dataDir = join(PROJECT_ROOT, ".data");

async function main() {
  const chatIdArg = process.argv.indexOf("--chat-id");
  const chatId = chatIdArg > 0 ? Number(process.argv[chatIdArg + 1]) : 424242;
  if (!Number.isSafeInteger(chatId)) throw new Error("--chat-id needs an integer");

  let state: StackState;
  try {
    state = JSON.parse(await readFile(join(dataDir, "stack.json"), "utf8")) as StackState;
  } catch {
    throw new Error("the local stack is not running: start it with `npm start` in another terminal");
  }
  const address = state.demoChannelAddress ? parseChannelAddress(state.demoChannelAddress) : undefined;
  if (!address) throw new Error("the running stack has no demo channel");
  const health = await fetch(`${state.edgeUrl}/healthz`).catch(() => undefined);
  if (!health?.ok) throw new Error(`the edge at ${state.edgeUrl} is not answering: is \`npm start\` running?`);
  const sentUrl = `${state.telegramApiBase}/_fake/sent?chat_id=${chatId}`;
  if (!(await fetch(sentUrl).catch(() => undefined))?.ok) {
    throw new Error("the stack talks to the real Telegram (TELEGRAM_BOT_TOKEN): message your bot in the Telegram app instead");
  }

  const keys = await loadOrCreateKeys(join(dataDir, "keys.json"));
  const secret = await telegramWebhookSecret(keys.WEBHOOK_SIGNING_KEY, address);
  const webhookUrl = `${state.edgeUrl}/webhooks/telegram/${state.demoChannelAddress}`;
  let seen = await sentCount(sentUrl);
  let updateId = Date.now();
  let messageId = Math.floor(Date.now() / 1000);

  const prompt = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  console.log(`Chatting with the demo agent as Telegram chat ${chatId}. Ctrl-D to leave.`);
  prompt.setPrompt("you> ");
  prompt.prompt();
  for await (const text of prompt) {
    if (!text.trim()) {
      prompt.prompt();
      continue;
    }
    const update = {
      update_id: updateId++,
      message: {
        message_id: messageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: "private", first_name: "You" },
        from: { id: chatId, is_bot: false, first_name: "You", language_code: "en" },
        text,
      },
    };
    const response = await fetch(webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body: JSON.stringify(update),
    });
    if (!response.ok) {
      console.log(`(the edge refused the update: ${response.status} ${await response.text()})`);
      prompt.prompt();
      continue;
    }
    const replies = await waitForReplies(sentUrl, seen, 60_000);
    if (replies.length === 0) console.log("(no reply within 60 s: see .data/logs/services.log)");
    for (const reply of replies) console.log(`agent> ${reply}`);
    seen += replies.length;
    prompt.prompt();
  }
}

async function sentCount(url: string): Promise<number> {
  const body = (await (await fetch(url)).json()) as { result: unknown[] };
  return body.result.length;
}

async function waitForReplies(url: string, seen: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const body = (await (await fetch(url)).json()) as { result: Array<{ text: string }> };
    if (body.result.length > seen) return body.result.slice(seen).map((message) => message.text);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return [];
}

main().catch((error) => {
  console.error(`npm run chat: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
