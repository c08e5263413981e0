import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAuth0, type FakeAuth0 } from "../../test/fakes/auth0";
import { createAuth0Verifier, InvalidTokenError, TokenVerificationUnavailableError } from "./auth0";

/** The verifier against a loopback JWKS server: key caching, cool-down and rotation. */
describe("createAuth0Verifier", () => {
  let auth0: FakeAuth0;
  beforeAll(async () => {
    auth0 = await startFakeAuth0();
  });
  afterAll(() => auth0?.close());

  const claims = { sub: "auth0|ada", org_id: "org_x", email: "ada@example.test", email_verified: true };

  it("verifies a good token, fetching the key set once for many tokens", async () => {
    const verify = createAuth0Verifier({ issuer: auth0.issuer, audience: auth0.audience, jwksUrl: auth0.jwksUrl });
    const before = auth0.jwksFetches();
    for (let i = 0; i < 5; i++) {
      await expect(verify(await auth0.mint({ claims }))).resolves.toEqual({
        subject: "auth0|ada",
        orgId: "org_x",
        email: "ada@example.test",
        emailVerified: true,
      });
    }
    expect(auth0.jwksFetches() - before).toBe(1);
  });

  it("does not refetch for every unknown kid inside the cool-down (no fetch storm)", async () => {
    const verify = createAuth0Verifier({
      issuer: auth0.issuer,
      audience: auth0.audience,
      jwksUrl: auth0.jwksUrl,
      jwksCooldownSeconds: 300,
    });
    await verify(await auth0.mint({ claims }));
    const before = auth0.jwksFetches();
    const stranger = await auth0.strangerKey();
    const forged = await Promise.all(
      Array.from({ length: 25 }, (_, i) => auth0.mint({ claims, key: stranger, header: { kid: `made-up-${i}` } })),
    );
    const results = await Promise.allSettled(forged.map((token) => verify(token)));
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof InvalidTokenError)).toBe(true);
    expect(auth0.jwksFetches() - before).toBeLessThanOrEqual(1);
  });

  it("makes one JWKS request for 100 concurrent unknown-kid tokens arriving as the cool-down ends (single flight)", async () => {
    let now = 1_000_000;
    const verify = createAuth0Verifier({
      issuer: auth0.issuer,
      audience: auth0.audience,
      jwksUrl: auth0.jwksUrl,
      jwksCooldownSeconds: 30,
      clock: () => now,
    });
    await verify(await auth0.mint({ claims }));
    const stranger = await auth0.strangerKey();
    const forged = await Promise.all(
      Array.from({ length: 100 }, (_, i) => auth0.mint({ claims, key: stranger, header: { kid: `storm-${i}` } })),
    );
    for (let round = 1; round <= 3; round++) {
      now += 31_000; // the cool-down has just ended
      const before = auth0.jwksFetches();
      const results = await Promise.allSettled(forged.map((token) => verify(token)));
      expect(results.every((r) => r.status === "rejected" && r.reason instanceof InvalidTokenError)).toBe(true);
      expect(auth0.jwksFetches() - before, `round ${round}`).toBe(1);
    }
    // A real key rotated in meanwhile is still found by the next refetch.
    await auth0.rotate();
    now += 31_000;
    await expect(verify(await auth0.mint({ claims }))).resolves.toMatchObject({ subject: "auth0|ada" });
  });

  it("picks up a rotated-in key once the cool-down has passed", async () => {
    const verify = createAuth0Verifier({ issuer: auth0.issuer, audience: auth0.audience, jwksUrl: auth0.jwksUrl, jwksCooldownSeconds: 0 });
    await verify(await auth0.mint({ claims }));
    await auth0.rotate();
    const fresh = await auth0.mint({ claims });
    await expect(verify(fresh)).resolves.toMatchObject({ subject: "auth0|ada" });
  });

  it("says the keys are unavailable (not that the token is bad) when the JWKS cannot be fetched", async () => {
    const verify = createAuth0Verifier({ issuer: auth0.issuer, audience: auth0.audience, jwksUrl: "http://127.0.0.1:1/jwks.json" });
    await expect(verify(await auth0.mint({ claims }))).rejects.toBeInstanceOf(TokenVerificationUnavailableError);
  });

  it("refuses a verified token without an organisation", async () => {
    const verify = createAuth0Verifier({ issuer: auth0.issuer, audience: auth0.audience, jwksUrl: auth0.jwksUrl });
    await expect(verify(await auth0.mint({ claims: { ...claims, org_id: undefined } }))).rejects.toThrow(/org_id/);
  });
});
