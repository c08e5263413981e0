import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeToolService, type FakeToolService } from "../../test/fakes/tool-service";
import { createSafeFetch, SafeFetchError } from "./safe-fetch";
import { checkUrlLiteral, isPublicAddress, UnsafeUrlError } from "./url-policy";

let service: FakeToolService;
beforeAll(async () => {
  service = await startFakeToolService();
});
afterAll(async () => {
  await service?.close();
});

/** Every form an internal address may take; all must be refused with the default policy. */
const REFUSED_URLS = [
  "http://127.0.0.1/",
  "http://127.1/",
  "http://0x7f000001/",
  "http://2130706433/",
  "http://0177.0.0.1/",
  "http://[::1]/",
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:10.0.0.1]/",
  "http://10.1.2.3/",
  "http://172.16.0.1/",
  "http://192.168.1.1/",
  "http://169.254.169.254/latest/meta-data/",
  "http://100.64.0.1/",
  "http://0.0.0.0/",
  "http://224.0.0.1/",
  "http://255.255.255.255/",
  "http://240.0.0.1/",
  "http://[fd00::1]/",
  "http://[fe80::1]/",
  "http://[ff02::1]/",
  "http://[64:ff9b::7f00:1]/",
  "http://localhost/",
  "http://intranet/",
  "ftp://example.com/",
  "file:///etc/passwd",
  "http://user:pass@example.com/",
  "http://example.com:8080/",
  "https://example.com:22/",
];

describe("checkUrlLiteral (save time, no DNS)", () => {
  it.each(REFUSED_URLS)("refuses %s", (url) => {
    expect(() => checkUrlLiteral(url)).toThrow(UnsafeUrlError);
  });

  it("accepts public http(s) URLs on 80 and 443", () => {
    expect(checkUrlLiteral("https://api.example.com/v1/orders").hostname).toBe("api.example.com");
    expect(checkUrlLiteral("http://93.184.216.34/").hostname).toBe("93.184.216.34");
    expect(checkUrlLiteral("https://[2606:4700::1111]/").hostname).toBe("[2606:4700::1111]");
  });

  it("lets an explicit allowlist entry through, and only that host and port", () => {
    expect(() => checkUrlLiteral("http://127.0.0.1:4000/x", { allowedHosts: ["127.0.0.1:4000"] })).not.toThrow();
    expect(() => checkUrlLiteral("http://127.0.0.1:4001/x", { allowedHosts: ["127.0.0.1:4000"] })).toThrow(UnsafeUrlError);
  });

  it("classifies addresses with ipaddr.js", () => {
    expect(isPublicAddress("8.8.8.8")).toBe(true);
    expect(isPublicAddress("::ffff:8.8.8.8")).toBe(true);
    expect(isPublicAddress("::ffff:169.254.169.254")).toBe(false);
    expect(isPublicAddress("not an ip")).toBe(false);
    // IPv4-compatible (::/96) whatever it embeds, and ISATAP ids embedding a private address.
    for (const address of [
      "::a9fe:a9fe",
      "::7f00:1",
      "::127.0.0.1",
      "::8.8.8.8",
      "::",
      "2001:db8:1::5efe:a00:1",
      "2607:f8b0::200:5efe:c0a8:101",
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    expect(() => checkUrlLiteral("http://[::127.0.0.1]/")).toThrow(UnsafeUrlError);
    expect(() => checkUrlLiteral("http://[::a9fe:a9fe]/latest/meta-data/")).toThrow(UnsafeUrlError);
  });
});

describe("createSafeFetch (run time)", () => {
  const refusedBy = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SafeFetchError);
    return error as SafeFetchError;
  };

  it.each(REFUSED_URLS)("refuses %s before connecting", async (url) => {
    let resolved = false;
    const fetch = createSafeFetch({ resolve: async () => ((resolved = true), [{ address: "93.184.216.34", family: 4 }]) });
    const error = await refusedBy(fetch({ url }));
    expect(error.code).toBe("UNSAFE_URL");
    if (!/localhost|intranet/.test(url)) expect(resolved).toBe(false);
  });

  it("refuses a hostname when any of its A/AAAA records is internal", async () => {
    for (const records of [
      [{ address: "10.0.0.5", family: 4 }],
      [
        { address: "93.184.216.34", family: 4 },
        { address: "::1", family: 6 },
      ],
      [{ address: "169.254.169.254", family: 4 }],
      [{ address: "::ffff:127.0.0.1", family: 6 }],
      [{ address: "fd12::1", family: 6 }],
    ]) {
      const fetch = createSafeFetch({ resolve: async () => records });
      expect((await refusedBy(fetch({ url: "https://api.example.com/" }))).code).toBe("UNSAFE_URL");
    }
  });

  it("connects to the address it checked: one lookup per hop, no second resolution (DNS rebinding fails)", async () => {
    const port = Number(service.hostPort.split(":")[1]);
    let lookups = 0;
    // A rebinding resolver: the first answer is what gets checked; any later one would point elsewhere.
    const resolve = async () => (lookups++ === 0 ? [{ address: "127.0.0.1", family: 4 }] : [{ address: "10.9.9.9", family: 4 }]);
    const fetch = createSafeFetch({ resolve, allowedHosts: [`tools.test:${port}`] });
    const response = await fetch({ url: `http://tools.test:${port}/none/orders/7` });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text())).toMatchObject({ order: { id: "7" } });
    expect(lookups).toBe(1);
    expect(service.requests.at(-1)!.headers.host).toBe(`tools.test:${port}`);
  });

  it("re-checks every redirect hop and refuses one into the internal network", async () => {
    const fetch = createSafeFetch({ allowedHosts: [service.hostPort] });
    const error = await refusedBy(
      fetch({ url: `${service.url}/redirect?to=${encodeURIComponent("http://169.254.169.254/latest/meta-data/")}` }),
    );
    expect(error.code).toBe("UNSAFE_URL");
    const followed = await fetch({ url: `${service.url}/redirect?to=/none/orders/3` });
    expect(followed.status).toBe(200);
    expect((await refusedBy(fetch({ url: `${service.url}/redirect?to=/none/orders/3`, maxRedirects: 0 }))).code).toBe("TOO_MANY_REDIRECTS");
  });

  it("caps the response size", async () => {
    const fetch = createSafeFetch({ allowedHosts: [service.hostPort] });
    expect((await refusedBy(fetch({ url: `${service.url}/big`, maxResponseBytes: 64 * 1024 }))).code).toBe("RESPONSE_TOO_LARGE");
  });

  it("times out", async () => {
    // A resolver that never answers stands in for a black-holed host.
    const slow = createSafeFetch({ resolve: () => new Promise(() => {}), allowedHosts: ["slow.test"] });
    expect((await refusedBy(slow({ url: "http://slow.test/", timeoutMs: 50 }))).code).toBe("TIMEOUT");
  });

  it("refuses the loopback test service without the allowlist: the default is never weakened", async () => {
    expect((await refusedBy(createSafeFetch()({ url: `${service.url}/none/orders/1` }))).code).toBe("UNSAFE_URL");
  });
});
