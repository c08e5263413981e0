import { ChatBedrockConverse } from "@langchain/aws";
import { ChatGroq } from "@langchain/groq";
import { describe, expect, it } from "vitest";
import { parseKeyring } from "../crypto/secrets";
import { readTenantSettings } from "../tenants/settings";
import { openProviderKeys, sealProviderKey } from "./credentials";
import { OfflineChatModel } from "./offline-model";
import { createProviderRegistry, readModelEnvironment } from "./providers";

const settings = { temperature: 0.1, maxOutputTokens: 64, timeoutMs: 1000 };
const keyring = parseKeyring(`k1:${Buffer.alloc(32, 7).toString("base64")}`);
const tenantId = "11111111-1111-4111-8111-111111111111";

/**
 * Groq is exercised on the wire through the OpenAI fake (same protocol) in engine.int.test.ts.
 * Bedrock has no wire fake (SigV4-signed Converse API): these tests check how its client is built.
 */
describe("createProviderRegistry", () => {
  it("makes a Bedrock Converse model with the configured region, endpoint and credentials, without SDK retries", async () => {
    const env = readModelEnvironment({
      BEDROCK_REGION: "eu-west-1",
      BEDROCK_ENDPOINT: "http://127.0.0.1:4599",
      BEDROCK_ACCESS_KEY_ID: "AKIAEXAMPLE",
      BEDROCK_SECRET_ACCESS_KEY: "secret-example",
    });
    const registry = createProviderRegistry(env);
    const candidate = { provider: "bedrock", model: "meta.llama3-8b-instruct-v1:0" } as const;
    expect(registry.isAvailable(candidate)).toBe(true);
    const model = registry.create(candidate, settings) as ChatBedrockConverse;
    expect(model).toBeInstanceOf(ChatBedrockConverse);
    expect(model.model).toBe("meta.llama3-8b-instruct-v1:0");
    expect(model.region).toBe("eu-west-1");
    const endpoint = await model.client.config.endpoint!();
    expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe("http://127.0.0.1:4599");
    expect(await model.client.config.credentials()).toMatchObject({ accessKeyId: "AKIAEXAMPLE" });
    expect(await model.client.config.maxAttempts()).toBe(1);
  });

  it("needs a region and credentials for Bedrock", () => {
    const registry = createProviderRegistry(readModelEnvironment({ BEDROCK_ACCESS_KEY_ID: "a", BEDROCK_SECRET_ACCESS_KEY: "b" }));
    expect(registry.isAvailable({ provider: "bedrock", model: "meta.llama3-8b-instruct-v1:0" })).toBe(false);
  });

  it("makes a Groq model pointed at the configured base URL", () => {
    const registry = createProviderRegistry(readModelEnvironment({ GROQ_API_KEY: "gsk_test", GROQ_BASE_URL: "http://127.0.0.1:4598" }));
    const model = registry.create({ provider: "groq", model: "llama-3.1-8b-instant" }, settings) as ChatGroq;
    expect(model).toBeInstanceOf(ChatGroq);
    expect((model as unknown as { client: { baseURL: string } }).client.baseURL).toBe("http://127.0.0.1:4598");
  });

  it("prefers the tenant's own key to the platform's, and offers Ollama only with an endpoint", () => {
    const env = readModelEnvironment({ OPENAI_API_KEY: "sk-platform" });
    const platform = createProviderRegistry(env);
    const tenant = createProviderRegistry(env, { openai: "sk-tenant" });
    const mini = { provider: "openai", model: "gpt-4o-mini" } as const;
    expect((platform.create(mini, settings) as unknown as { apiKey: string }).apiKey).toBe("sk-platform");
    expect((tenant.create(mini, settings) as unknown as { apiKey: string }).apiKey).toBe("sk-tenant");
    expect(platform.isAvailable({ provider: "ollama", model: "llama3" })).toBe(false);
    expect(platform.isAvailable({ provider: "gemini", model: "gemini-2.0-flash" })).toBe(false);
    expect(platform.create({ provider: "offline", model: "offline-echo-1" }, settings)).toBeInstanceOf(OfflineChatModel);
  });

  it("rejects a malformed environment by name, never echoing values", () => {
    expect(() => readModelEnvironment({ OPENAI_BASE_URL: "not a url sk-secret" })).toThrow(/BAD_ENVIRONMENT.*OPENAI_BASE_URL/);
    expect(() => readModelEnvironment({ OPENAI_BASE_URL: "not a url sk-secret" })).not.toThrow(/sk-secret/);
  });
});

describe("tenant provider keys", () => {
  it("round-trips sealed keys bound to the tenant and provider", async () => {
    const stored = readTenantSettings({
      providerKeys: {
        openai: await sealProviderKey(keyring, tenantId, "openai", "sk-tenant-key"),
        bedrock: await sealProviderKey(keyring, tenantId, "bedrock", { accessKeyId: "AKIA1", secretAccessKey: "s" }),
      },
    });
    expect(JSON.stringify(stored)).not.toContain("sk-tenant-key");
    const opened = await openProviderKeys(keyring, tenantId, stored);
    expect(opened).toEqual({
      credentials: { openai: "sk-tenant-key", bedrock: { accessKeyId: "AKIA1", secretAccessKey: "s" } },
      unreadable: [],
    });
  });

  it("leaves out a key copied from another tenant or sealed for another provider", async () => {
    const otherTenant = await sealProviderKey(keyring, "22222222-2222-4222-8222-222222222222", "openai", "sk-other");
    const otherProvider = await sealProviderKey(keyring, tenantId, "groq", "gsk-groq");
    const opened = await openProviderKeys(
      keyring,
      tenantId,
      readTenantSettings({ providerKeys: { openai: otherTenant, gemini: otherProvider } }),
    );
    expect(opened).toEqual({ credentials: {}, unreadable: ["openai", "gemini"] });
  });

  it("refuses plaintext where a sealed key belongs", () => {
    expect(() => readTenantSettings({ providerKeys: { openai: "sk-plaintext" } })).toThrow();
  });
});
