import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SesSentMail {
  from: string;
  to: string[];
  /** The raw MIME as the client built it. */
  raw: string;
  /** The mail as SES delivers it: its own Message-ID in place of the client's. */
  delivered: string;
  configurationSet?: string;
  /** The Message-ID SES gave it (answered as `MessageId`; the mail carries `<id@region.amazonses.com>`). */
  sesMessageId: string;
  region: string;
}

export interface FakeSes {
  /** `http://127.0.0.1:PORT`: the pool's SES_API_BASE. */
  url: string;
  sent: SesSentMail[];
  /** The next sends answer this SES error (`TooManyRequestsException` 429, `MessageRejected` 400, …). */
  failNext(count: number, error: { status: number; type: string; message: string }): void;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for Amazon SES API v2's `SendEmail` (`POST /v2/email/outbound-emails`, the
 * REST-JSON protocol `@aws-sdk/client-sesv2` speaks): every request's Signature Version 4 is
 * recomputed with the account's secret key and refused as SES refuses it (403
 * `SignatureDoesNotMatch`, `UnrecognizedClientException` for an unknown key); a sender outside the
 * verified identities is `MessageRejected` as SES says it; raw content only, as nodemailer sends.
 */
export async function startFakeSes(options: {
  accessKeyId: string;
  secretAccessKey: string;
  /** Verified identities: addresses or domains. */
  verified: string[];
  /** Delivers each accepted mail onward (the local stack hands it to its SMTP server, as SES to the recipient's). */
  onSent?: (mail: SesSentMail) => Promise<void> | void;
}): Promise<FakeSes> {
  const sent: SesSentMail[] = [];
  const failures: Array<{ status: number; type: string; message: string }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const answer = (status: number, payload: unknown, type?: string) =>
        response
          .writeHead(status, { "content-type": "application/json", ...(type ? { "x-amzn-errortype": type } : {}) })
          .end(JSON.stringify(payload));
      const signed = checkSignature(request, body, options);
      if (!signed.ok) return answer(403, { message: signed.message }, signed.type);
      if (request.method !== "POST" || request.url !== "/v2/email/outbound-emails") {
        return answer(404, { message: "Unknown operation" }, "NotFoundException");
      }
      const failure = failures.shift();
      if (failure) return answer(failure.status, { message: failure.message }, failure.type);
      let input: {
        FromEmailAddress?: string;
        Destination?: { ToAddresses?: string[] };
        Content?: { Raw?: { Data?: string } };
        ConfigurationSetName?: string;
      };
      try {
        input = JSON.parse(body.toString("utf8")) as typeof input;
      } catch {
        return answer(400, { message: "Could not parse the request body" }, "BadRequestException");
      }
      const data = input.Content?.Raw?.Data;
      if (!data) return answer(400, { message: "Content.Raw.Data is required by this fake" }, "BadRequestException");
      const raw = Buffer.from(data, "base64").toString("utf8");
      const from = /<([^>]+)>/.exec(input.FromEmailAddress ?? "")?.[1] ?? input.FromEmailAddress ?? "";
      const domain = from.split("@")[1] ?? "";
      if (!options.verified.includes(from) && !options.verified.includes(domain)) {
        return answer(
          400,
          {
            message: `Email address is not verified. The following identities failed the check in region ${signed.region.toUpperCase()}: ${from}`,
          },
          "MessageRejected",
        );
      }
      const sesMessageId = `0100019${Date.now().toString(16)}-${crypto.randomUUID()}-000000`;
      const messageIdHeader = `Message-ID: <${sesMessageId}@${signed.region === "us-east-1" ? "email" : signed.region}.amazonses.com>`;
      const [head = "", ...rest] = raw.split(/\r?\n\r?\n/);
      const delivered = [
        [...head.split(/\r?\n(?![ \t])/).filter((line) => !/^message-id:/i.test(line)), messageIdHeader].join("\r\n"),
        ...rest,
      ].join("\r\n\r\n");
      const mail: SesSentMail = {
        from,
        to: input.Destination?.ToAddresses ?? [],
        raw,
        delivered,
        ...(input.ConfigurationSetName ? { configurationSet: input.ConfigurationSetName } : {}),
        sesMessageId,
        region: signed.region,
      };
      sent.push(mail);
      Promise.resolve(options.onSent?.(mail)).catch((error: unknown) => console.error("fake SES: delivery failed:", error));
      return answer(200, { MessageId: sesMessageId });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    failNext(count, error) {
      for (let i = 0; i < count; i += 1) failures.push(error);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type SignatureCheck = { ok: true; region: string } | { ok: false; type: string; message: string };

/** AWS Signature Version 4 as SES checks it: the scope's key and service, then the signature recomputed over the signed headers. */
function checkSignature(request: IncomingMessage, body: Buffer, account: { accessKeyId: string; secretAccessKey: string }): SignatureCheck {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      request.headers.authorization ?? "",
    );
  if (!match) return { ok: false, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" };
  const [, keyId, day, region, service, signedHeaders, signature] = match as unknown as string[];
  if (keyId !== account.accessKeyId) {
    return { ok: false, type: "UnrecognizedClientException", message: "The security token included in the request is invalid." };
  }
  const amzDate = String(request.headers["x-amz-date"] ?? "");
  if (service !== "ses" || !amzDate.startsWith(day!)) {
    return { ok: false, type: "SignatureDoesNotMatch", message: "Credential should be scoped to a valid service and date." };
  }
  const url = new URL(request.url ?? "/", "http://fake");
  const query = [...url.searchParams.entries()]
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .sort()
    .join("&");
  const names = signedHeaders!.split(";");
  const canonicalHeaders = names
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
  const canonical = [request.method, url.pathname, query, canonicalHeaders, signedHeaders, sha256(body)].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
  let key = hmac(`AWS4${account.secretAccessKey}`, day!);
  for (const part of [region!, service!, "aws4_request"]) key = hmac(key, part);
  const expected = Buffer.from(hmac(key, stringToSign).toString("hex"));
  if (!timingSafeEqual(expected, Buffer.from(signature!))) {
    return {
      ok: false,
      type: "SignatureDoesNotMatch",
      message: "The request signature we calculated does not match the signature you provided.",
    };
  }
  return { ok: true, region: region! };
}
