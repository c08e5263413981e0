import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { InvalidTokenError } from "./auth0";
import { signInUrl, signSession, slugOf, verifySession } from "./sign-in";

const key = "k".repeat(44);
const member = { tenantId: "00000000-0000-4000-8000-0000000000a1", userId: "00000000-0000-4000-8000-0000000000b1" };

describe("console sessions", () => {
  it("verify only what was signed here, for its tenant and user", async () => {
    const { accessToken, expiresAt } = await signSession(key, member);
    expect(await verifySession(key, accessToken)).toEqual(member);
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now() + 7 * 3600_000);
    await expect(verifySession("x".repeat(44), accessToken)).rejects.toThrow(InvalidTokenError);
    const [header, payload, signature] = accessToken.split(".");
    const otherTenant = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), tid: member.userId }),
    ).toString("base64url");
    await expect(verifySession(key, `${header}.${otherTenant}.${signature}`)).rejects.toThrow("The session token is invalid.");
  });

  it("refuse an expired token, an unsigned one and one from another issuer", async () => {
    const old = await signSession(key, member, Math.floor(Date.now() / 1000) - 9 * 3600);
    await expect(verifySession(key, old.accessToken)).rejects.toThrow("The session has expired; sign in again.");
    const unsigned = new UnsecuredJWT({ tid: member.tenantId })
      .setSubject(member.userId)
      .setIssuer("agent-platform/console")
      .setAudience("console")
      .setExpirationTime("1h")
      .encode();
    await expect(verifySession(key, unsigned)).rejects.toThrow(InvalidTokenError);
    // An OAuth state signed with the same signing key is another purpose's token (another derived key and issuer).
    const foreign = await new SignJWT({ tid: member.tenantId })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(member.userId)
      .setIssuer("agent-platform/integrations")
      .setAudience("console")
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(key));
    await expect(verifySession(key, foreign)).rejects.toThrow(InvalidTokenError);
  });
});

describe("sign-in links and slugs", () => {
  it("put the token in the URL fragment, never the path or query", () => {
    const url = new URL(signInUrl("http://127.0.0.1:8787/", "sl_abc"));
    expect(url.pathname).toBe("/console/");
    expect(url.search).toBe("");
    expect(url.hash).toBe("#/sign-in?token=sl_abc");
  });

  it("make slugs from names in any script", () => {
    expect(slugOf("Acme Shoes, S.L.")).toBe("acme-shoes-s-l");
    expect(slugOf("Panadería Ñandú")).toBe("panaderia-nandu");
    expect(slugOf("東京")).toBe("tenant");
  });
});
