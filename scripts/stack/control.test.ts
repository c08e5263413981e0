import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlToken, startControlServer } from "./control";

describe("the local stack's control endpoint", () => {
  const keys = { WEBHOOK_SIGNING_KEY: "k".repeat(44) };
  let control: Awaited<ReturnType<typeof startControlServer>>;
  let dumps = 0;
  beforeAll(async () => {
    control = await startControlServer({
      keys,
      dumpDatabase: async () => {
        dumps += 1;
        return new Blob([new Uint8Array([0x1f, 0x8b, 1, 2, 3])]);
      },
    });
  });
  afterAll(() => control.close());

  it("listens on loopback only and answers the database dump to the holder of the stack's keys", async () => {
    expect(control.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const token = await controlToken(keys);
    const response = await fetch(`${control.url}/database/dump`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/gzip");
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([0x1f, 0x8b, 1, 2, 3]);
  });

  it("refuses a missing or wrong token and other paths, without dumping", async () => {
    const before = dumps;
    expect((await fetch(`${control.url}/database/dump`, { method: "POST" })).status).toBe(401);
    const wrong = await controlToken({ WEBHOOK_SIGNING_KEY: "x".repeat(44) });
    expect((await fetch(`${control.url}/database/dump`, { method: "POST", headers: { authorization: `Bearer ${wrong}` } })).status).toBe(
      401,
    );
    const token = await controlToken(keys);
    expect((await fetch(`${control.url}/database/dump`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    expect(dumps).toBe(before);
  });
});
