import { describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey, parseApiKey, redactedApiKey } from "./api-key-format";
import { maskSecrets } from "./audit";
import { decodeCursor, encodeCursor } from "./pagination";
import {
  ALL_PERMISSIONS,
  BUILTIN_ROLE_PERMISSIONS,
  effectivePermissions,
  PermissionDeniedError,
  requireCanGrant,
  requirePermission,
} from "./permissions";
import { InvalidRequestError } from "../errors";

describe("permissions", () => {
  it("are module:action for ten modules and three actions", () => {
    expect(ALL_PERMISSIONS).toHaveLength(30);
    expect(ALL_PERMISSIONS).toContain("integrations:delete");
    expect(ALL_PERMISSIONS).toContain("contacts:delete");
    expect(ALL_PERMISSIONS).toContain("billing:write");
  });

  it("give admin everything, editor no user management, viewer reads only", () => {
    expect(new Set(BUILTIN_ROLE_PERMISSIONS.admin)).toEqual(new Set(ALL_PERMISSIONS));
    expect(BUILTIN_ROLE_PERMISSIONS.editor.filter((p) => p.startsWith("users:"))).toEqual([]);
    expect(BUILTIN_ROLE_PERMISSIONS.editor).toContain("agents:delete");
    expect(BUILTIN_ROLE_PERMISSIONS.viewer.every((p) => p.endsWith(":read"))).toBe(true);
  });

  it("take built-in roles from code and custom roles from storage, dropping unknown entries", () => {
    expect(effectivePermissions({ name: "viewer", builtin: true, permissions: ["users:delete"] }).has("users:delete")).toBe(false);
    const custom = effectivePermissions({ name: "support", builtin: false, permissions: ["agents:read", "*", "bogus:read"] });
    expect([...custom]).toEqual(["agents:read"]);
    // A custom role that happens to be called "admin" but is not built in gets only what it stores.
    expect(effectivePermissions({ name: "admin", builtin: false, permissions: [] }).size).toBe(0);
  });

  it("refuse what the caller lacks, and refuse granting more than the caller holds", () => {
    const ctx = { permissions: new Set(BUILTIN_ROLE_PERMISSIONS.editor) };
    expect(() => requirePermission(ctx, "agents:write")).not.toThrow();
    expect(() => requirePermission(ctx, "users:write")).toThrow(PermissionDeniedError);
    expect(() => requireCanGrant(ctx, ["agents:read"])).not.toThrow();
    expect(() => requireCanGrant(ctx, ["agents:read", "settings:write"])).toThrow(/settings:write/);
  });
});

describe("API key format", () => {
  it("has a public id and a secret, and stores only the hash", async () => {
    const made = await generateApiKey();
    expect(made.key).toMatch(/^ak_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    expect(parseApiKey(made.key)).toEqual({ publicId: made.publicId, key: made.key });
    expect(made.secretHash).toBe(await hashApiKey(made.key));
    expect(made.secretHash).toMatch(/^[0-9a-f]{64}$/);
    // The secret is base64url and may itself contain "_": take everything after `ak_<public id>_`.
    expect(made.secretHash).not.toContain(made.key.slice(`ak_${made.publicId}_`.length));
    expect(redactedApiKey(made.publicId)).toBe(`ak_${made.publicId}_…`);
  });

  it("rejects anything else without looking it up", async () => {
    const made = await generateApiKey();
    for (const bad of ["", "ak_", made.key.slice(0, -1), `${made.key}x`, made.key.replace("ak_", "sk_"), "ak_zz_zz"]) {
      expect(parseApiKey(bad), bad).toBeUndefined();
    }
  });

  it("never repeats", async () => {
    const keys = await Promise.all(Array.from({ length: 50 }, () => generateApiKey()));
    expect(new Set(keys.map((k) => k.key)).size).toBe(50);
  });
});

describe("audit masking", () => {
  it("masks secret-looking fields at any depth and keeps the rest", () => {
    const masked = maskSecrets({
      name: "bot",
      credentials: "v1.k1.xx.yy",
      config: { botToken: "123:abc", webhook: { secret: "s", url: "https://x" } },
      list: [{ apiKey: "sk-1" }, { password: null }],
      at: new Date("2026-01-01T00:00:00Z"),
    });
    expect(masked).toEqual({
      name: "bot",
      credentials: "[masked]",
      config: { botToken: "[masked]", webhook: { secret: "[masked]", url: "https://x" } },
      list: [{ apiKey: "[masked]" }, { password: null }],
      at: "2026-01-01T00:00:00.000Z",
    });
  });
});

describe("cursors", () => {
  it("round-trip PostgreSQL timestamps at full precision", () => {
    const cursor = { t: "2026-11-25 05:14:40.281033+00", id: "00000000-0000-4000-8000-000000000001" };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it("refuse cursors this API did not make", () => {
    for (const bad of [
      "",
      "not-base64!",
      Buffer.from('{"t":1}').toString("base64url"),
      Buffer.from('{"t":"x","id":"1 or 1=1"}').toString("base64url"),
    ]) {
      expect(() => decodeCursor(bad), bad).toThrow(InvalidRequestError);
    }
  });
});
