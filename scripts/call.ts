/**
 * `npm run call`: a text "phone call" with the demo agent through Twilio's ConversationRelay, as the
 * running `npm start` serves it. The fake Twilio's call webhook (signed with the account's auth
 * token) reaches the demo phone line, the TwiML it answers names the relay WebSocket on the edge,
 * and this script plays Twilio's side of it: each line you type is a final `prompt` (what
 * speech-to-text heard); each reply is the `text` Twilio would speak. Ctrl-D hangs up.
 *   --from +E164    which number to call from (default +14155550123)
 *   a line `#5`     presses 5 on the keypad (dtmf)
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { placeCall } from "../test/fakes/twilio";
import { LOCAL_DEMO_TWILIO, PROJECT_ROOT, type StackState } from "./local-stack";

const dataDir = process.env.AGENT_STACK_DIR ?? join(PROJECT_ROOT, ".data");

async function main() {
  const { values } = parseArgs({ options: { from: { type: "string", default: "+14155550123" } } });
  const from = values.from;
  if (!/^\+[1-9]\d{7,14}$/.test(from)) throw new Error("--from needs a number in E.164 form, e.g. +14155550123");
  let state: StackState;
  try {
    state = JSON.parse(await readFile(join(dataDir, "stack.json"), "utf8")) as StackState;
  } catch {
    throw new Error("the local stack is not running: start it with `npm start` in another terminal");
  }
  if (!state.sms) throw new Error("the running stack has no demo phone line: restart `npm start`");
  const { numbers } = (await (await fetch(`${state.sms.twilioApiBase}/_fake/numbers`)).json()) as {
    numbers: Array<{ phoneNumber: string; voiceUrl: string }>;
  };
  const line = numbers.find((number) => number.phoneNumber === state.sms!.phoneNumber);
  if (!line?.voiceUrl) throw new Error("the demo number takes no calls: restart `npm start`");
  const call = await placeCall({
    voiceUrl: line.voiceUrl,
    accountSid: LOCAL_DEMO_TWILIO.accountSid,
    authToken: LOCAL_DEMO_TWILIO.authToken,
    from,
    to: line.phoneNumber,
  });
  console.log(`Calling ${line.phoneNumber} from ${from} (call ${call.callSid}). Ctrl-D hangs up.`);
  console.log(`agent> ${call.greeting}`);
  let ended = false;
  void call.ended().then(({ twiml }) => {
    ended = true;
    console.log(`(the agent ended the call; Twilio was told: ${twiml})`);
  });
  const prompt = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  prompt.setPrompt("you> ");
  prompt.prompt();
  for await (const text of prompt) {
    if (ended) break;
    const words = text.trim();
    if (!words) {
      prompt.prompt();
      continue;
    }
    const digit = /^#([0-9*#])$/.exec(words)?.[1];
    if (digit) call.dtmf(digit);
    else call.say(words);
    try {
      console.log(`agent> ${await call.nextReply(60_000)}`);
    } catch {
      console.log("(no reply within 60 s: see .data/logs/services.log)");
    }
    prompt.prompt();
  }
  await call.hangUp();
}

main().catch((error) => {
  console.error(`npm run call: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
