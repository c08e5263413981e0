import { describe, expect, it } from "vitest";
import { describeMailRoute, emailSettings, mailRouteOf } from "./settings";

const parse = (settings: Record<string, unknown>) => emailSettings.safeParse({ fromAddress: "help@shop.example", ...settings });

describe("email settings: one way out, SMTP or Amazon SES", () => {
  it("takes either an SMTP server or an SES account, not both and not neither", () => {
    expect(parse({ smtp: { host: "smtp.example.com" } }).success).toBe(true);
    expect(parse({ ses: { region: "eu-west-1", configurationSet: "replies" } }).success).toBe(true);
    const both = parse({ smtp: { host: "smtp.example.com" }, ses: { region: "eu-west-1" } });
    const neither = parse({});
    for (const result of [both, neither]) {
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toContain("exactly one of smtp");
    }
    expect(parse({ ses: { region: "https://attacker.example" } }).success).toBe(false);
  });

  it("needs both halves of the AWS access key for SES, and never shows the secret", () => {
    const settings = parse({ ses: { region: "eu-west-1" } }).data!;
    expect(mailRouteOf(settings, { awsAccessKeyId: "AKIAEXAMPLE000000001" })).toMatch(/no AWS access key/);
    const route = mailRouteOf(settings, { awsAccessKeyId: "AKIAEXAMPLE000000001", awsSecretAccessKey: "top-secret-key-material-000" });
    expect(route).toMatchObject({ transport: "ses", region: "eu-west-1", accessKeyId: "AKIAEXAMPLE000000001" });
    expect(describeMailRoute(route)).toBe("Amazon SES in eu-west-1 with access key AKIA…");
    const smtp = mailRouteOf(parse({ smtp: { host: "smtp.example.com", port: 465 } }).data!, { smtpPassword: "pw-secret" });
    expect(smtp).toMatchObject({ transport: "smtp", secure: true, password: "pw-secret" });
    expect(describeMailRoute(smtp)).toBe("smtp.example.com:465 with a password");
  });
});
