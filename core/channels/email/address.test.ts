import { describe, expect, it } from "vitest";
import { channelEmailAddress, parseChannelEmailAddress } from "./address";
import { renderReplyHtml } from "./render";
import { stripQuotedReply } from "./quotes";

const key = "k".repeat(40);
const address = { tenantId: "0b7c5a52-3f4e-4d2a-9c1b-6e8f7a9b0c1d", channelId: "f1e2d3c4-b5a6-4978-8a6b-5c4d3e2f1a0b" };

describe("channel email addresses", () => {
  it("name the channel within 64 characters and survive lower-casing and a sub-address", async () => {
    const mail = await channelEmailAddress(key, address, "In.Agents.Example");
    const [local, domain] = mail.split("@");
    expect(local!.length).toBeLessThanOrEqual(64);
    expect(domain).toBe("in.agents.example");
    expect(await parseChannelEmailAddress(key, mail, "in.agents.example")).toEqual({ ok: true, address });
    expect(await parseChannelEmailAddress(key, mail.toUpperCase(), "in.agents.example")).toEqual({ ok: true, address });
    expect(await parseChannelEmailAddress(key, `${local}+orders@${domain}`, "in.agents.example")).toEqual({ ok: true, address });
  });

  it("refuse a made-up or altered address, another domain, and another signing key's address", async () => {
    const mail = await channelEmailAddress(key, address, "in.agents.example");
    const [local] = mail.split("@");
    const swapped = `${local!.slice(0, 10)}${local![10] === "a" ? "b" : "a"}${local!.slice(11)}@in.agents.example`;
    expect(await parseChannelEmailAddress(key, swapped, "in.agents.example")).toEqual({ ok: false, reason: "unknown_address" });
    expect(await parseChannelEmailAddress(key, "support@in.agents.example", "in.agents.example")).toEqual({
      ok: false,
      reason: "unknown_address",
    });
    expect(await parseChannelEmailAddress(key, `${local}@elsewhere.example`, "in.agents.example")).toEqual({
      ok: false,
      reason: "wrong_domain",
    });
    expect(await parseChannelEmailAddress("z".repeat(40), mail, "in.agents.example")).toEqual({ ok: false, reason: "unknown_address" });
  });
});

describe("reply HTML", () => {
  it("renders Markdown and never passes the model's HTML, script links or images through", () => {
    const html = renderReplyHtml(
      "**Done.** <script>alert(1)</script> [pay](https://pay.example/x) [bad](javascript:alert(1)) ![px](https://t.example/p.gif)",
    );
    expect(html).toContain("<strong>Done.</strong>");
    expect(html).toContain("&lt;script&gt;");
    expect(html).not.toContain("<script");
    expect(html).toContain('<a href="https://pay.example/x">pay</a>');
    expect(html).not.toContain("javascript:");
    expect(html).not.toContain("<img");
  });
});

describe("quoted history", () => {
  it("keeps bottom-posted text after the quotes and the whole text when it only quotes", () => {
    expect(stripQuotedReply("> old question\n> more\n\nMy answer is below the quote.")).toBe("My answer is below the quote.");
    expect(stripQuotedReply("> only a quote")).toBe("> only a quote");
  });

  it("cuts at a signature separator and Outlook's original-message line", () => {
    expect(stripQuotedReply("Yes please.\n-- \nTom Brown\nContoso")).toBe("Yes please.");
    expect(stripQuotedReply("Fine.\n\n-----Original Message-----\nFrom: x\nOld text")).toBe("Fine.");
  });

  it("reads a long line that backtracking reply parsers choke on in one pass (no regular expression spans it)", () => {
    const hostile = `On ${"a ".repeat(50_000)}\nwrote`;
    expect(stripQuotedReply(hostile)).toBe(hostile);
  });
});
