import { startPrometheus, type PrometheusHandle } from "./stack/prometheus";
import { DEFAULT_PLANS } from "../core/billing/plans";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { keepStatisticsFresh } from "./stack/statistics";
import { formatChannelAddress } from "../core/channels/address";
import { parseKeyring } from "../core/crypto/secrets";
import { startPgliteServer, type PgliteServer } from "../db/local/pglite-server";
import { migrateDatabase } from "../db/migrate";
import { DEMO_EMAIL_CHANNEL_ID, DEMO_TENANT_ID, seedDemo } from "./seed";
import { LOCAL_SES, startLocalMail, type LocalMail } from "./stack/mail";
import { sesEndpointToken } from "../core/channels/email/ses";
import { channelEmailAddress } from "../core/channels/email/address";
import { startFakeTelegram, type FakeTelegram } from "../test/fakes/telegram";
import { startFakeTwilio, type FakeTwilio } from "../test/fakes/twilio";
import { startFakeWhatsApp, type FakeWhatsApp } from "../test/fakes/whatsapp";
import { startFakeHubSpot, type FakeHubSpot } from "../test/fakes/hubspot";
import { startFakeSalesforce, type FakeSalesforce } from "../test/fakes/salesforce";
import { startFakeStripe, type FakeStripe } from "../test/fakes/stripe";
import { spawnService, type ServiceOutput, type ServiceProcess } from "./stack/child";
import { startChroma, type ChromaHandle } from "./stack/chroma";
import { beginOutage, endOutage } from "./stack/database-outage";
import { startEdge, type EdgeHandle } from "./stack/edge";
import { preferredPort } from "./stack/ports";
import { exportsEnvironment, sqsEnvironment, startSqs, type SqsHandle } from "./stack/sqs";
import { startWsProxy, type WsProxyHandle } from "./stack/ws-proxy";
import { generateKeys, loadOrCreateKeys, localWhatsAppAppSecret, type LocalKeys } from "./local-keys";
import { startTelegramPoller } from "./telegram-poller";
import { telegramWebhookSecret } from "../core/channels/telegram/webhook-secret";
import { createLogger } from "../core/observability/log";
import { createSignInLink, signInUrl } from "../core/access/sign-in";
import { ensureConsoleBuilt } from "./build-console";
import { createPoolDb } from "../db/client";
import { withTenant } from "../db/tenant";
import { updateChannel } from "../core/channels/manage";
import { ENDPOINT_DEFAULTS } from "../core/endpoints";
import { asOperator } from "./stack/cli";

export const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));
/** The demo channel's token when no real bot is configured: shaped like a real one, accepted only by the fake. */
export const LOCAL_DEMO_BOT_TOKEN = "100000001:local-demo-bot-token";
/** The demo WhatsApp channel's access token and phone number id, accepted only by the fake Graph API. */
export const LOCAL_DEMO_WHATSAPP_TOKEN = "local-demo-whatsapp-access-token";
export const LOCAL_DEMO_PHONE_NUMBER_ID = "100000000000001";
/** The demo SMS channel's Twilio account and number, known only to the fake Twilio API. */
export const LOCAL_DEMO_TWILIO = {
  accountSid: "AC00000000000000000000000000000001",
  authToken: "00000000000000000000000000000001",
  phoneNumber: "+15005550006",
} as const;

export interface LocalStackOptions {
  /** Keeps PGlite, Chroma and the keys across restarts; absent = a temporary directory removed on stop. */
  dataDir?: string;
  /** Admin URL of a PostgreSQL server to use instead of PGlite (the database is created if missing). */
  databaseUrl?: string;
  /** A database someone else made and migrated (tests). `kind: "postgres"` lets `stopDatabase` refuse its connections. */
  database?: { adminUrl: string; appUrl: string; kind?: "postgres" | "pglite" };
  /** Seed the demo tenant, agent and Telegram channel. Default true. */
  seed?: boolean;
  /**
   * WhatsApp end to end on loopback: the fake Graph API, a local app secret for the edge's
   * signature check, and a demo WhatsApp channel (`npm start`; `npm run chat -- --channel whatsapp`).
   */
  demoWhatsApp?: boolean;
  /**
   * The integrations on loopback: fakes of HubSpot, Salesforce and Stripe (OAuth and REST) with
   * local OAuth apps, so connecting each one and watching an agent use it works with no accounts
   * (`npm start`).
   */
  demoIntegrations?: boolean;
  /**
   * Email end to end on loopback: one SMTP server takes mail for the local mail domain into the
   * edge's `email()` handler and catches the agents' replies, and a demo email channel answers at
   * its inbound address (`npm start`; `npm run mail`).
   */
  demoEmail?: boolean;
  /**
   * SMS and voice end to end on loopback: the fake Twilio API and demo SMS and voice channels on
   * one number, connected through the channel verb once the edge runs, which points the fake
   * number's webhooks at the edge (`npm start`; `npm run chat -- --channel sms`, `npm run call`).
   */
  demoTwilio?: boolean;
  /**
   * A real bot: the demo channel uses this token, the pool talks to the Telegram API, and the
   * stack long-polls `getUpdates` into the edge's webhook (no public URL needed).
   */
  telegramBotToken?: string;
  /** Overrides the Telegram API base (otherwise the fake, or api.telegram.org with a real token). */
  telegramApiBase?: string;
  withChroma?: boolean;
  withPool?: boolean;
  /**
   * How the edge reaches the database: `neon` (default: DATABASE_URL with Neon's driver through the
   * loopback WebSocket proxy) or `hyperdrive` (wrangler.toml's `hyperdrive` environment: the `pg`
   * driver through wrangler's local Hyperdrive, no DATABASE_URL at all).
   */
  edgeDatabase?: "neon" | "hyperdrive";
  /** A real Prometheus (Debian's package) scraping the pool's and the edge's /metrics, with ops/prometheus/alerts.yml loaded. */
  withMonitoring?: boolean;
  /** Extra pool environment (model keys, timeouts). */
  poolEnv?: Record<string, string>;
  /** Node flags for the pool processes (e.g. `--cpu-prof`, which NODE_OPTIONS does not take). */
  poolNodeArgs?: string[];
  /** Extra edge vars (e.g. AUTH0_ISSUER, AUTH0_AUDIENCE, AUTH0_JWKS_URL in the admin API tests). */
  edgeVars?: Record<string, string>;
  /** Attach workerd's DevTools inspector to the edge (off by default: it costs the Worker throughput). */
  edgeInspector?: boolean;
  output?: ServiceOutput;
  /** Ports to use when free (`npm start` keeps URLs stable); absent ones are picked at random. */
  ports?: Partial<
    Record<
      | "database"
      | "wsProxy"
      | "sqs"
      | "chroma"
      | "telegram"
      | "whatsapp"
      | "twilio"
      | "hubspot"
      | "salesforce"
      | "stripe"
      | "smtp"
      | "edge"
      | "pool"
      | "prometheus",
      number
    >
  >;
  /** Called as each service becomes healthy. */
  onService?: (name: string, url: string) => void;
}

export interface PoolProcess extends ServiceProcess {
  healthUrl: string;
}

export interface LocalStack {
  keys: LocalKeys;
  /** Where the stack keeps its state (PGlite, workerd's Durable Objects under `wrangler/`). */
  dataDir: string;
  database: { adminUrl: string; appUrl: string };
  sqs: SqsHandle;
  wsProxy: WsProxyHandle;
  edge: EdgeHandle;
  chroma?: ChromaHandle;
  telegram?: FakeTelegram;
  telegramApiBase: string;
  demo?: {
    tenantId: string;
    agentId: string;
    channelId: string;
    address: string;
    whatsappAddress?: string;
    /** With `demoTwilio`: the demo SMS and voice channels' ids and their Twilio number. */
    sms?: { channelId: string; phoneNumber: string };
    voice?: { channelId: string; phoneNumber: string };
    /** With `demoEmail`: the demo email channel and the address that reaches it, and the SES demo channel and its address. */
    email?: { channelId: string; address: string; sesChannelId?: string; sesAddress?: string };
    adminUserId: string;
  };
  /** The loopback SMTP server (with `demoEmail`). */
  mail?: LocalMail;
  /** The fake WhatsApp Graph API (with `demoWhatsApp`). */
  whatsapp?: FakeWhatsApp;
  /** The fake Twilio API (with `demoTwilio`). */
  twilio?: FakeTwilio;
  /** The integration fakes and their local OAuth apps (with `demoIntegrations`). */
  integrations?: DemoIntegrations;
  pool?: PoolProcess;
  prometheus?: PrometheusHandle;
  /**
   * Starts another pool process (tests restart pools; a bigger machine runs several). From the
   * sources under tsx, or from a production build with `{ entry: "<dir>/pool.js" }` (`npm run build`).
   */
  startPool(env?: Record<string, string>, options?: { entry?: string }): Promise<PoolProcess>;
  /**
   * A database outage, for fault tests: the stack's PGlite stops (same port and data directory on
   * `startDatabase`, like a server restart); a PostgreSQL database refuses connections and loses
   * the ones it had. Not available for a PGlite someone else started (`options.database`).
   */
  stopDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
  /** The stack's own PGlite data directory as a gzipped tarball (`npm run backup`); absent on PostgreSQL. */
  dumpDatabase?: () => Promise<Blob>;
  stop(): Promise<void>;
}

/**
 * Brings up the whole platform on 127.0.0.1, in dependency order, and stops it in reverse:
 * database (PGlite or PostgreSQL) → WebSocket proxy → SQS → Chroma → Telegram fake → edge
 * (workerd) → pool. Used by `npm start` and by the end-to-end tests, so both run the same stack.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  const announce = options.onService ?? (() => {});
  const ports = options.ports ?? {};
  try {
    const dataDir = options.dataDir ? resolve(options.dataDir) : await mkdtemp(join(tmpdir(), "agent-stack-"));
    if (!options.dataDir) stops.push(() => rm(dataDir, { recursive: true, force: true }));
    const keys = options.dataDir ? await loadOrCreateKeys(join(dataDir, "keys.json")) : generateKeys();

    const { control: databaseControl, ...database } = options.database
      ? { ...options.database, control: externalDatabaseControl(options.database) }
      : await startDatabase(options, dataDir, await preferredPort(ports.database), stops);
    announce("database", redactUrl(database.adminUrl));
    const telegramBotToken = options.telegramBotToken ?? LOCAL_DEMO_BOT_TOKEN;
    let mail: LocalMail | undefined;
    let demoEmailAddress: string | undefined;
    if (options.demoEmail) {
      mail = await startLocalMail({ port: await preferredPort(ports.smtp), dataDir });
      stops.push(() => mail!.stop());
      announce(
        "smtp",
        `smtp://${mail.host}:${mail.port} (mail for @${mail.domain} → the edge's email handler; other mail caught in ${mail.outboxDir})`,
      );
      demoEmailAddress = await channelEmailAddress(
        keys.WEBHOOK_SIGNING_KEY,
        { tenantId: DEMO_TENANT_ID, channelId: DEMO_EMAIL_CHANNEL_ID },
        mail.domain,
      );
    }
    const demo =
      options.seed === false
        ? undefined
        : await seedDemo(database.adminUrl, {
            keyring: parseKeyring(keys.SECRETS_KEYRING),
            telegramBotToken,
            ...(options.demoWhatsApp
              ? { whatsapp: { accessToken: LOCAL_DEMO_WHATSAPP_TOKEN, phoneNumberId: LOCAL_DEMO_PHONE_NUMBER_ID } }
              : {}),
            ...(options.demoTwilio ? { twilio: { phoneNumber: LOCAL_DEMO_TWILIO.phoneNumber } } : {}),
            ...(mail && demoEmailAddress
              ? {
                  email: {
                    inboundAddress: demoEmailAddress,
                    fromAddress: "support@demo-shop.example",
                    smtpHost: mail.host,
                    smtpPort: mail.port,
                  },
                  sesEmail: {
                    fromAddress: `support@${LOCAL_SES.domain}`,
                    region: LOCAL_SES.region,
                    accessKeyId: LOCAL_SES.accessKeyId,
                    secretAccessKey: LOCAL_SES.secretAccessKey,
                  },
                }
              : {}),
          });

    const wsProxy = await startWsProxy({ port: await preferredPort(ports.wsProxy) });
    stops.push(() => wsProxy.stop());
    announce("ws-proxy", wsProxy.url);

    const sqs = await startSqs({ port: await preferredPort(ports.sqs) });
    stops.push(() => sqs.stop());
    announce("sqs", sqs.endpoint);

    let chroma: ChromaHandle | undefined;
    if (options.withChroma !== false) {
      chroma = await startChroma({
        port: await preferredPort(ports.chroma),
        dataDir: join(dataDir, "chroma"),
        output: options.output ?? "prefix",
      });
      stops.push(() => chroma!.stop());
      announce("chroma", chroma.url);
    }

    let telegram: FakeTelegram | undefined;
    let telegramApiBase = options.telegramApiBase ?? "https://api.telegram.org";
    if (!options.telegramBotToken && !options.telegramApiBase) {
      telegram = await startFakeTelegram({ port: await preferredPort(ports.telegram) });
      stops.push(() => telegram!.close());
      telegramApiBase = telegram.url;
      announce("telegram-fake", telegram.url);
    }

    let whatsapp: FakeWhatsApp | undefined;
    if (options.demoWhatsApp) {
      whatsapp = await startFakeWhatsApp({ accessToken: LOCAL_DEMO_WHATSAPP_TOKEN, port: await preferredPort(ports.whatsapp) });
      stops.push(() => whatsapp!.close());
      announce("whatsapp-fake", whatsapp.apiBase);
    }
    const whatsappVars: Record<string, string> = whatsapp
      ? { WHATSAPP_API_BASE: whatsapp.apiBase, WHATSAPP_APP_SECRET: await localWhatsAppAppSecret(keys) }
      : {};

    let twilio: FakeTwilio | undefined;
    if (options.demoTwilio) {
      twilio = await startFakeTwilio({
        accountSid: LOCAL_DEMO_TWILIO.accountSid,
        authToken: LOCAL_DEMO_TWILIO.authToken,
        phoneNumbers: [LOCAL_DEMO_TWILIO.phoneNumber],
        port: await preferredPort(ports.twilio),
      });
      stops.push(() => twilio!.close());
      announce("twilio-fake", twilio.apiBase);
    }

    const integrations = options.demoIntegrations ? await startDemoIntegrations(ports, stops, announce) : undefined;

    // The edge serves the console's build as static assets: its directory must exist first.
    await ensureConsoleBuilt();
    // The first pool serves the edge's tool runner (POST /v1/tools/:id/test); the edge needs its URL first.
    const toolRunnerPort = await preferredPort(undefined);
    const exportsEnv = await exportsEnvironment(sqs);
    const edge = await startEdge({
      port: await preferredPort(ports.edge),
      vars: {
        WEBHOOK_SIGNING_KEY: keys.WEBHOOK_SIGNING_KEY,
        SECRETS_KEYRING: keys.SECRETS_KEYRING,
        // The channel API registers Telegram webhooks through the same API the pool sends with.
        TELEGRAM_API_BASE: telegramApiBase,
        ...whatsappVars,
        ...(twilio ? { TWILIO_API_BASE: twilio.apiBase } : {}),
        ...(mail ? { EMAIL_DOMAIN: mail.domain, SNS_TRUSTED_BASE_URL: mail.snsUrl } : {}),
        ...integrations?.env,
        ...sqsEnvironment(sqs),
        ...exportsEnv,
        ...(options.edgeDatabase === "hyperdrive" ? {} : { DATABASE_URL: database.appUrl, NEON_WS_PROXY: `127.0.0.1:${wsProxy.port}` }),
        TOOL_RUNNER_URL: `http://127.0.0.1:${toolRunnerPort}`,
        // Local only: the edge's request counters at /metrics (production: Analytics Engine and logs).
        EDGE_METRICS: "on",
        // Console sign-in without Auth0: one-time links and the sign-up form (off when Auth0 is configured).
        ...(options.edgeVars?.AUTH0_ISSUER ? {} : { LOCAL_SIGN_IN: "on" }),
        ...options.edgeVars,
      },
      persistDir: join(dataDir, "wrangler"),
      ...(options.edgeInspector ? { inspector: true } : {}),
      ...(options.edgeDatabase === "hyperdrive"
        ? {
            environment: "hyperdrive",
            processEnv: { CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: withPassword(database.appUrl) },
          }
        : {}),
      output: options.output ?? "prefix",
    });
    stops.push(() => edge.stop());
    announce("edge", edge.url);
    if (edge.inspectorPort) announce("edge inspector", `127.0.0.1:${edge.inspectorPort} (Chrome: chrome://inspect, Configure…, add it)`);
    mail?.forwardTo(edge.url);
    // The platform's billing webhook endpoint, as registered in its Stripe dashboard.
    if (integrations)
      integrations.stripe.billing.webhook = {
        url: `${edge.url}/webhooks/billing/stripe`,
        secret: LOCAL_BILLING.BILLING_STRIPE_WEBHOOK_SECRET,
      };
    await mail?.storeLargeIn(sqs.endpoint);
    if (mail && demo?.sesChannelId) {
      // As a tenant subscribes its receipt rule's topic to the channel's webhookUrl; the edge confirms it.
      const channel = { tenantId: DEMO_TENANT_ID, channelId: demo.sesChannelId };
      const token = await sesEndpointToken(keys.WEBHOOK_SIGNING_KEY, channel);
      await mail.subscribeSes(`${edge.url}/webhooks/ses/${formatChannelAddress(channel)}?token=${token}`);
    }

    if (twilio && demo?.smsChannelId && demo.voiceChannelId) {
      // As a tenant saving the channels' Twilio credentials would: the verb finds the number in the
      // account and points its messaging and voice webhooks (with the sealed auth token) at this
      // edge. The fake keeps nothing across restarts, so this runs on every start.
      const { accountSid, authToken } = LOCAL_DEMO_TWILIO;
      const services = {
        keyring: parseKeyring(keys.SECRETS_KEYRING),
        channels: {
          signingKey: keys.WEBHOOK_SIGNING_KEY,
          telegramApiBase,
          whatsappApiBase: whatsapp?.apiBase ?? ENDPOINT_DEFAULTS.WHATSAPP_API_BASE,
          twilioApiBase: twilio.apiBase,
          publicBaseUrl: edge.url,
        },
      };
      for (const channelId of [demo.smsChannelId, demo.voiceChannelId]) {
        await asOperator(
          demo.tenantId,
          (ctx) => updateChannel({ ctx: { ...ctx, services }, input: { channelId, accountSid, authToken } }),
          database.adminUrl,
        );
      }
    }

    // Embedded PGlite serves one session: one pool connection (see DATABASE_POOL_MAX in workers/pool/config.ts).
    const embedded = options.database ? options.database.kind === "pglite" : !options.databaseUrl;
    const poolEnv = {
      DATABASE_URL: database.appUrl,
      // …whose prepared statements every connection would share (see DATABASE_PREPARED_STATEMENTS).
      ...(embedded ? { DATABASE_POOL_MAX: "1", DATABASE_PREPARED_STATEMENTS: "off" } : {}),
      ...sqsEnvironment(sqs),
      SECRETS_KEYRING: keys.SECRETS_KEYRING,
      TELEGRAM_API_BASE: telegramApiBase,
      ...(whatsapp ? { WHATSAPP_API_BASE: whatsapp.apiBase } : {}),
      ...(twilio ? { TWILIO_API_BASE: twilio.apiBase } : {}),
      // The local SMTP server is on loopback, which the SSRF policy refuses for tenants' servers.
      ...(mail ? { SMTP_ALLOWED_HOSTS: `${mail.host}:${mail.port}`, SES_API_BASE: mail.sesApiBase, S3_API_BASE: sqs.endpoint } : {}),
      ...integrations?.env,
      ...(chroma ? { CHROMA_URL: chroma.url } : {}),
      ...exportsEnv,
      ...options.poolEnv,
    };
    const pools: PoolProcess[] = [];
    const startPool = async (env: Record<string, string> = {}, { entry }: { entry?: string } = {}) => {
      // Only the first pool gets the well-known port; later ones (tests, scale-out) any free one.
      const port = await preferredPort(pools.length === 0 ? ports.pool : undefined);
      const service = spawnService({
        name: "pool",
        command: process.execPath,
        args: [
          ...(options.poolNodeArgs ?? []),
          ...(entry ? ["--enable-source-maps", entry] : ["--import", "tsx", join(PROJECT_ROOT, "workers/pool/main.ts")]),
        ],
        cwd: PROJECT_ROOT,
        env: {
          ...poolEnv,
          POOL_PORT: String(port),
          ...(pools.length === 0 ? { POOL_TOOL_RUNNER_PORT: String(toolRunnerPort) } : {}),
          ...env,
        },
        output: options.output ?? "prefix",
      });
      const healthUrl = `http://127.0.0.1:${port}`;
      pools.push(Object.assign(service, { healthUrl }));
      await service.waitForHttp(`${healthUrl}/readyz`, { timeoutMs: 60_000 });
      return Object.assign(service, { healthUrl });
    };
    stops.push(() => Promise.all(pools.map((pool) => pool.stop(12_000))));
    const pool = options.withPool === false ? undefined : await startPool();
    if (pool) announce("pool", pool.healthUrl);

    let prometheus: PrometheusHandle | undefined;
    if (options.withMonitoring) {
      prometheus = await startPrometheus({
        targets: [
          ...(pool ? [{ job: "agent-pool", url: `${pool.healthUrl}/metrics` }] : []),
          { job: "agent-edge", url: `${edge.url}/metrics` },
        ],
        port: await preferredPort(ports.prometheus),
        dataDir: join(dataDir, "prometheus"),
        output: options.output ?? "prefix",
      });
      stops.push(() => prometheus!.stop());
      announce("prometheus", prometheus.url);
    }

    if (options.telegramBotToken && demo) {
      const address = { tenantId: demo.tenantId, channelId: demo.channelId };
      const poller = startTelegramPoller({
        apiBase: telegramApiBase,
        token: options.telegramBotToken,
        webhookUrl: `${edge.url}/webhooks/telegram/${formatChannelAddress(address)}`,
        secret: await telegramWebhookSecret(keys.WEBHOOK_SIGNING_KEY, address),
        logger: createLogger({ service: "telegram-poller" }),
      });
      // Stopped first: no new updates while the rest shuts down.
      stops.push(() => poller.stop());
      announce("telegram", `long-polling ${telegramApiBase} (getUpdates → webhook)`);
    }

    return {
      keys,
      database,
      sqs,
      wsProxy,
      edge,
      ...(chroma ? { chroma } : {}),
      ...(telegram ? { telegram } : {}),
      ...(whatsapp ? { whatsapp } : {}),
      ...(twilio ? { twilio } : {}),
      ...(integrations ? { integrations } : {}),
      ...(mail ? { mail } : {}),
      telegramApiBase,
      dataDir,
      ...(demo
        ? {
            demo: {
              tenantId: demo.tenantId,
              agentId: demo.agentId,
              channelId: demo.channelId,
              adminUserId: demo.adminUserId,
              address: formatChannelAddress(demo),
              ...(demo.whatsappChannelId
                ? { whatsappAddress: formatChannelAddress({ tenantId: demo.tenantId, channelId: demo.whatsappChannelId }) }
                : {}),
              ...(demo.smsChannelId && demo.voiceChannelId && twilio
                ? {
                    sms: { channelId: demo.smsChannelId, phoneNumber: LOCAL_DEMO_TWILIO.phoneNumber },
                    voice: { channelId: demo.voiceChannelId, phoneNumber: LOCAL_DEMO_TWILIO.phoneNumber },
                  }
                : {}),
              ...(demo.emailChannelId && demoEmailAddress
                ? {
                    email: {
                      channelId: demo.emailChannelId,
                      address: demoEmailAddress,
                      ...(demo.sesChannelId ? { sesChannelId: demo.sesChannelId, sesAddress: `support@${LOCAL_SES.domain}` } : {}),
                    },
                  }
                : {}),
            },
          }
        : {}),
      ...(pool ? { pool } : {}),
      ...(prometheus ? { prometheus } : {}),
      startPool,
      stopDatabase: databaseControl.stop,
      startDatabase: databaseControl.start,
      ...(databaseControl.dumpDataDir ? { dumpDatabase: databaseControl.dumpDataDir } : {}),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The local OAuth apps of the integration fakes: not secrets (loopback only), fixed so restarts keep connections working. */
export const LOCAL_INTEGRATION_APPS = {
  HUBSPOT_CLIENT_ID: "local-hubspot-app",
  HUBSPOT_CLIENT_SECRET: "local-hubspot-app-secret",
  SALESFORCE_CLIENT_ID: "local-salesforce-connected-app",
  SALESFORCE_CLIENT_SECRET: "local-salesforce-connected-app-secret",
  STRIPE_CLIENT_ID: "ca_localconnectapp",
  STRIPE_SECRET_KEY: "sk_test_local_platform_key",
} as const;

/**
 * The platform's own Stripe account on the same fake (Stripe Billing): its key, the signing secret
 * of its webhook endpoint (pointed at the edge once it runs), and the plans with local prices, so
 * the console's Billing panel upgrades through a Checkout page that pays at once.
 */
export const LOCAL_BILLING = {
  BILLING_STRIPE_SECRET_KEY: "sk_test_local_billing_key",
  BILLING_STRIPE_WEBHOOK_SECRET: "whsec_local_billing_endpoint",
  BILLING_PLANS: JSON.stringify({
    ...DEFAULT_PLANS,
    pro: { ...DEFAULT_PLANS.pro, stripePriceId: "price_local_pro" },
    business: { ...DEFAULT_PLANS.business, stripePriceId: "price_local_business" },
  }),
} as const;

export interface DemoIntegrations {
  hubspot: FakeHubSpot;
  salesforce: FakeSalesforce;
  stripe: FakeStripe;
  /** The edge's and the pool's variables: every provider base URL and the local OAuth apps. */
  env: Record<string, string>;
}

async function startDemoIntegrations(
  ports: NonNullable<LocalStackOptions["ports"]>,
  stops: Array<() => Promise<unknown>>,
  announce: (name: string, url: string) => void,
): Promise<DemoIntegrations> {
  const apps = LOCAL_INTEGRATION_APPS;
  const hubspot = await startFakeHubSpot({
    clientId: apps.HUBSPOT_CLIENT_ID,
    clientSecret: apps.HUBSPOT_CLIENT_SECRET,
    port: await preferredPort(ports.hubspot),
  });
  stops.push(() => hubspot.close());
  announce("hubspot-fake", hubspot.url);
  const salesforce = await startFakeSalesforce({
    clientId: apps.SALESFORCE_CLIENT_ID,
    clientSecret: apps.SALESFORCE_CLIENT_SECRET,
    port: await preferredPort(ports.salesforce),
  });
  stops.push(() => salesforce.close());
  announce("salesforce-fake", salesforce.url);
  const stripe = await startFakeStripe({
    clientId: apps.STRIPE_CLIENT_ID,
    platformKey: apps.STRIPE_SECRET_KEY,
    billingKey: LOCAL_BILLING.BILLING_STRIPE_SECRET_KEY,
    port: await preferredPort(ports.stripe),
  });
  stops.push(() => stripe.close());
  announce("stripe-fake", stripe.url);
  // Something for the demo agent to find.
  hubspot.addContact({
    email: "ada@example.com",
    firstname: "Ada",
    lastname: "Lovelace",
    phone: "+442071234567",
    company: "Analytical Engines",
  });
  salesforce.addRecord("Contact", { FirstName: "Grace", LastName: "Hopper", Email: "grace@example.com", Phone: "+12025550143" });
  stripe.customers.push({ id: "cus_LOCALDEMO01", object: "customer", email: "ada@example.com", name: "Ada Lovelace" });
  return {
    hubspot,
    salesforce,
    stripe,
    env: {
      ...apps,
      HUBSPOT_API_BASE: hubspot.url,
      HUBSPOT_AUTH_BASE: hubspot.url,
      SALESFORCE_LOGIN_URL: salesforce.url,
      STRIPE_API_BASE: stripe.url,
      STRIPE_CONNECT_BASE: stripe.url,
      ...LOCAL_BILLING,
    },
  };
}

async function startDatabase(
  options: LocalStackOptions,
  dataDir: string,
  port: number,
  stops: Array<() => Promise<unknown>>,
): Promise<{ adminUrl: string; appUrl: string; control: DatabaseControl }> {
  if (options.databaseUrl) {
    await ensureDatabaseExists(options.databaseUrl);
    await migrateDatabase(options.databaseUrl);
    const app = new URL(options.databaseUrl);
    app.username = "agent_app";
    app.password = process.env.AGENT_APP_DB_PASSWORD ?? "";
    const adminUrl = options.databaseUrl;
    const statistics = keepStatisticsFresh(adminUrl, { kind: "postgres" });
    stops.push(() => statistics.stop());
    return { adminUrl, appUrl: app.toString(), control: externalDatabaseControl({ adminUrl, kind: "postgres" }) };
  }
  const pgliteDir = join(dataDir, "pglite");
  let server: PgliteServer | undefined = await startPgliteServer({ dataDir: pgliteDir, port });
  stops.push(() => server?.close() ?? Promise.resolve());
  await migrateDatabase(server.url);
  // Before anything else connects: see keepStatisticsFresh.
  await keepStatisticsFresh(server.url, { kind: "pglite" }).first;
  const control: DatabaseControl = {
    stop: async () => {
      await server?.close();
      server = undefined;
    },
    start: async () => {
      server ??= await startPgliteServer({ dataDir: pgliteDir, port });
    },
    dumpDataDir: () => {
      if (!server) return Promise.reject(new Error("the database is stopped"));
      return server.dumpDataDir();
    },
  };
  return { adminUrl: server.url, appUrl: server.url, control };
}

interface DatabaseControl {
  stop(): Promise<void>;
  start(): Promise<void>;
  dumpDataDir?: () => Promise<Blob>;
}

function externalDatabaseControl(database: { adminUrl: string; kind?: "postgres" | "pglite" }): DatabaseControl {
  if (database.kind !== "postgres") {
    const refuse = () => Promise.reject(new Error("stopDatabase: only the stack's own PGlite or a PostgreSQL database can be stopped"));
    return { stop: refuse, start: refuse };
  }
  return { stop: () => beginOutage(database.adminUrl), start: () => endOutage(database.adminUrl) };
}

/** `DATABASE_URL=postgres://postgres@127.0.0.1:5432/agents npm start` works on a server without that database yet. */
async function ensureDatabaseExists(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.end();
    return;
  } catch (error) {
    await client.end().catch(() => {});
    if ((error as { code?: string }).code !== "3D000") throw error;
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const server = new URL(url);
  server.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  try {
    await admin.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}

export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/** What `npm run chat`, `load` and `dlq` read to find the running stack. */
export interface StackState {
  edgeUrl: string;
  telegramApiBase: string;
  demoChannelAddress?: string;
  /** With the WhatsApp demo: its channel address and the fake Graph API's base URL. */
  demoWhatsAppAddress?: string;
  whatsappApiBase?: string;
  /** With the SMS demo: the fake Twilio API and the demo channel's number (`npm run chat -- --channel sms`). */
  sms?: { twilioApiBase: string; phoneNumber: string };
  /** The process that runs the stack: the state is stale when it is gone. */
  pid: number;
  /** Endpoints only: the emulator takes any credentials, and real ones never go here. */
  sqs?: { endpoint: string; region: string; inboundQueueUrl: string; deadLetterQueueUrl: string };
  poolHealthUrl?: string;
  /** Which model the pool answers with; the load test wants the offline one (no cost, no latency). */
  model?: "offline" | "openai";
  /** Chroma, for `npm run reindex`. */
  chromaUrl?: string;
  /** The `npm start` process's control endpoint (embedded PGlite: `npm run backup`): scripts/stack/control.ts. */
  controlUrl?: string;
  /** The owner URL for `npm run apikey`; only when it holds no password (embedded PGlite). */
  adminDatabaseUrl?: string;
  /** With the integrations demo: the fakes' base URLs (`npm run integrations`). */
  integrations?: { hubspot: string; salesforce: string; stripe: string };
  /** With the email demo: the SMTP server, the demo channel's address and where replies are caught (`npm run mail`). */
  mail?: { host: string; port: number; demoAddress: string; outboxDir: string; sesAddress?: string };
}

/** What `npm run chat` needs to find the running stack; no secrets (the keys stay in keys.json). */
/**
 * A one-time console sign-in link for a member (the demo admin by default), where the edge runs
 * with LOCAL_SIGN_IN=on: `npm start` prints one, `npm run console -- link` makes another.
 */
export async function consoleSignInUrl(adminUrl: string, edgeUrl: string, member: { tenantId: string; userId: string }): Promise<string> {
  const handle = createPoolDb(adminUrl, { max: 1, applicationName: "agent-platform-sign-in" });
  try {
    const link = await withTenant(handle.db, member.tenantId, (tx) => createSignInLink(tx, member));
    return signInUrl(edgeUrl, link.token);
  } finally {
    await handle.close();
  }
}

export async function writeStackState(
  dataDir: string,
  stack: LocalStack,
  extra: { model?: "offline" | "openai"; controlUrl?: string } = {},
): Promise<void> {
  const state: StackState = {
    edgeUrl: stack.edge.url,
    telegramApiBase: stack.telegramApiBase,
    ...(stack.demo ? { demoChannelAddress: stack.demo.address } : {}),
    ...(stack.demo?.whatsappAddress && stack.whatsapp
      ? { demoWhatsAppAddress: stack.demo.whatsappAddress, whatsappApiBase: stack.whatsapp.apiBase }
      : {}),
    ...(stack.demo?.sms && stack.twilio ? { sms: { twilioApiBase: stack.twilio.apiBase, phoneNumber: stack.demo.sms.phoneNumber } } : {}),
    pid: process.pid,
    sqs: {
      endpoint: stack.sqs.endpoint,
      region: stack.sqs.region,
      inboundQueueUrl: stack.sqs.inboundQueueUrl,
      deadLetterQueueUrl: stack.sqs.deadLetterQueueUrl,
    },
    ...(stack.pool ? { poolHealthUrl: stack.pool.healthUrl } : {}),
    ...(stack.chroma ? { chromaUrl: stack.chroma.url } : {}),
    ...(stack.integrations
      ? {
          integrations: {
            hubspot: stack.integrations.hubspot.url,
            salesforce: stack.integrations.salesforce.url,
            stripe: stack.integrations.stripe.url,
          },
        }
      : {}),
    ...(stack.mail && stack.demo?.email
      ? {
          mail: {
            host: stack.mail.host,
            port: stack.mail.port,
            demoAddress: stack.demo.email.address,
            outboxDir: stack.mail.outboxDir,
            ...(stack.demo.email.sesAddress ? { sesAddress: stack.demo.email.sesAddress } : {}),
          },
        }
      : {}),
    ...(new URL(stack.database.adminUrl).password ? {} : { adminDatabaseUrl: stack.database.adminUrl }),
    ...extra,
  };
  await writeFile(join(dataDir, "stack.json"), JSON.stringify(state, null, 2));
}

/**
 * Local Hyperdrive insists on a password in its connection string; the local databases (trust
 * auth, PGlite) ignore it, so one is added where the URL has none.
 */
function withPassword(url: string): string {
  const parsed = new URL(url);
  if (!parsed.password) parsed.password = "local";
  return parsed.toString();
}
