/**
 * `npm start`: the whole platform on 127.0.0.1 with no accounts and no environment variables.
 * Data (PGlite, Chroma, keys) lives under `.data/`, so a restart keeps it. Optional:
 *   DATABASE_URL        use this PostgreSQL (admin URL) instead of embedded PGlite
 *   TELEGRAM_BOT_TOKEN  talk to the real Telegram: long-poll getUpdates into the webhook path
 *   TELEGRAM_API_BASE   another Telegram Bot API base URL
 *   OPENAI_API_KEY      the demo agent answers with gpt-4o-mini (OPENAI_BASE_URL to override)
 *   AUTH0_ISSUER, AUTH0_AUDIENCE (and AUTH0_JWKS_URL, AUTH0_ORG_CLAIM, AUTH0_EMAIL_CLAIM,
 *   AUTH0_JWKS_COOLDOWN_SECONDS, AUTH0_CLOCK_TOLERANCE_SECONDS)  Auth0 sign-in for the admin API
 *   AUTH0_CONSOLE_CLIENT_ID  the console signs in through Universal Login
 *   AUTH0_MANAGEMENT_CLIENT_ID, AUTH0_MANAGEMENT_CLIENT_SECRET (AUTH0_CONNECTION_ID)  self-service
 *     sign-up and emailed invitations through the Management API
 */
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { startControlServer } from "./stack/control";
import { sqsClientFor } from "./stack/sqs";
import { buildConsole } from "./build-console";
import { consoleSignInUrl, PROJECT_ROOT, startLocalStack, writeStackState, type LocalStack } from "./local-stack";

const env = process.env;
const dataDir = join(PROJECT_ROOT, ".data");
const line = (name: string, url: string) => console.log(`  ✔ ${name.padEnd(16)} ${url}`);

async function main() {
  console.log("Starting the local stack (127.0.0.1 only)…");
  const started = Date.now();
  await mkdir(join(dataDir, "logs"), { recursive: true });
  // The console is rebuilt on every start (a couple of seconds), so what is served is what is checked out.
  const built = await buildConsole();
  line("console build", `${(built.js / 1024).toFixed(0)} KB of JavaScript gzipped on first load`);
  const stack = await startLocalStack({
    dataDir,
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(env.TELEGRAM_BOT_TOKEN ? { telegramBotToken: env.TELEGRAM_BOT_TOKEN } : {}),
    ...(env.TELEGRAM_API_BASE ? { telegramApiBase: env.TELEGRAM_API_BASE } : {}),
    poolEnv: pick(env, ["OPENAI_API_KEY", "OPENAI_BASE_URL", "LOG_LEVEL"]),
    ...(env.EDGE_INSPECTOR === "1" ? { edgeInspector: true } : {}),
    edgeVars: pick(env, [
      "AUTH0_ISSUER",
      "AUTH0_AUDIENCE",
      "AUTH0_JWKS_URL",
      "AUTH0_ORG_CLAIM",
      "AUTH0_EMAIL_CLAIM",
      "AUTH0_JWKS_COOLDOWN_SECONDS",
      "AUTH0_CLOCK_TOLERANCE_SECONDS",
      "AUTH0_CONSOLE_CLIENT_ID",
      "AUTH0_MANAGEMENT_CLIENT_ID",
      "AUTH0_MANAGEMENT_CLIENT_SECRET",
      "AUTH0_MANAGEMENT_BASE_URL",
      "AUTH0_CONNECTION_ID",
    ]),
    // WhatsApp end to end on loopback: the fake Graph API and a local app secret.
    demoWhatsApp: true,
    // HubSpot, Salesforce and Stripe fakes with local OAuth apps: connect them and watch an agent use them.
    demoIntegrations: true,
    // Email: a loopback SMTP server into the edge's email handler, and a demo mailbox (`npm run mail`).
    demoEmail: true,
    // SMS and voice: a fake Twilio API and a demo number connected to the edge (`npm run chat -- --channel sms`, `npm run call`).
    demoTwilio: true,
    output: { file: join(dataDir, "logs", "services.log") },
    // Stable local URLs when the ports are free (5432 is left to a machine's own PostgreSQL).
    ports: {
      database: 5433,
      wsProxy: 5434,
      sqs: 9324,
      chroma: 8000,
      telegram: 8081,
      whatsapp: 8082,
      twilio: 8086,
      hubspot: 8083,
      salesforce: 8084,
      stripe: 8085,
      smtp: 2525,
      edge: 8787,
      pool: 9464,
      prometheus: 9090,
    },
    onService: line,
    // `npm start -- --with-monitoring`: Prometheus on :9090 scraping the pool and the edge.
    withMonitoring: process.argv.includes("--with-monitoring"),
    // `npm start -- --edge-db hyperdrive`: the edge on the pg driver through (local) Hyperdrive instead of Neon's.
    edgeDatabase: edgeDatabaseFlag(),
  });

  // `npm run backup` of the embedded database goes through this process, which owns it.
  const control = stack.dumpDatabase ? await startControlServer({ keys: stack.keys, dumpDatabase: stack.dumpDatabase }) : undefined;
  await writeStackState(dataDir, stack, {
    model: env.OPENAI_API_KEY ? "openai" : "offline",
    ...(control ? { controlUrl: control.url } : {}),
  });

  console.log(`\nReady in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  if (stack.demo) console.log(`  Demo Telegram webhook: ${stack.edge.url}/webhooks/telegram/${stack.demo.address}`);
  if (stack.demo?.whatsappAddress)
    console.log(`  Demo WhatsApp webhook: ${stack.edge.url}/webhooks/whatsapp/${stack.demo.whatsappAddress}`);
  if (stack.demo?.sms)
    console.log(`  Demo SMS and phone number: ${stack.demo.sms.phoneNumber} (npm run chat -- --channel sms; npm run call)`);
  if (!env.AUTH0_ISSUER && stack.demo) {
    const link = await consoleSignInUrl(stack.database.adminUrl, stack.edge.url, {
      tenantId: stack.demo.tenantId,
      userId: stack.demo.adminUserId,
    });
    console.log(`  Console: ${link}`);
    console.log(
      `    (one-time sign-in as the demo admin, valid 15 min; another: npm run console -- link; a new tenant: ${stack.edge.url}/console/#/sign-up)`,
    );
  } else {
    console.log(`  Console: ${stack.edge.url}/console/ (Auth0 Universal Login)`);
  }
  console.log(`  Admin API: ${stack.edge.url}/v1/docs (an API key for the demo tenant: npm run apikey -- create --role admin)`);
  console.log(`  Service logs: ${join(dataDir, "logs", "services.log")}`);
  console.log(env.TELEGRAM_BOT_TOKEN ? "  Message your bot on Telegram." : "  Talk to the demo agent: npm run chat");
  console.log("  … or as a WhatsApp user: npm run chat -- --channel whatsapp");
  if (stack.demo?.email && stack.mail) {
    console.log(
      `  … or by email: npm run mail -- "Where is my order?" (the demo mailbox: ${stack.demo.email.address}; SMTP on ${stack.mail.host}:${stack.mail.port})`,
    );
    if (stack.demo.email.sesAddress) {
      console.log(
        `  … or through Amazon SES (SNS in, SES API out): npm run mail -- --ses "Where is my order?" (${stack.demo.email.sesAddress})`,
      );
    }
  }
  console.log("  Integrations (HubSpot, Salesforce, Stripe fakes): npm run integrations -- connect hubspot");
  if (env.AUTH0_ISSUER)
    console.log(`  Auth0 sign-in: tokens from ${env.AUTH0_ISSUER} for ${env.AUTH0_AUDIENCE ?? "(AUTH0_AUDIENCE missing)"}`);
  console.log("  Ctrl-C stops everything.\n");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      console.log("Forcing exit.");
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await drainQueue(stack);
    await control?.close();
    await stack.stop();
    console.log("Stopped.");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

/**
 * The local SQS emulator keeps messages in memory: give the pool up to 15 s to finish what was
 * accepted before the queue goes away, so a restart does not lose a message.
 */
async function drainQueue(stack: LocalStack) {
  const sqs = sqsClientFor(stack.sqs);
  const deadline = Date.now() + 15_000;
  try {
    while (Date.now() < deadline) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.sqs.inboundQueueUrl,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      const depth = Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
      if (depth === 0) return;
      console.log(`  waiting for ${depth} queued message(s)…`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    console.log("  gave up waiting; unprocessed messages are lost with the local queue");
  } catch {
    // The queue is already gone.
  } finally {
    sqs.destroy();
  }
}

function pick(source: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((key) => (source[key] ? [[key, source[key]!]] : [])));
}

main().catch((error) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

function edgeDatabaseFlag(): "neon" | "hyperdrive" {
  const index = process.argv.indexOf("--edge-db");
  const value = index === -1 ? "neon" : process.argv[index + 1];
  if (value === "neon" || value === "hyperdrive") return value;
  console.error(`npm start: --edge-db takes neon or hyperdrive, not ${JSON.stringify(value ?? "")}`);
  process.exit(2);
}
