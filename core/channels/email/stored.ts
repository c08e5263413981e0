import { AwsClient } from "aws4fetch";
import type { ChannelMedia } from "../adapter";
import { readEmailBody } from "./normalize";
import { STORED_MAIL_TYPE } from "./ses";

const S3_REFERENCE = /^s3:([a-z0-9-]+):([a-z0-9.-]{3,63})\/(.+)$/;

/**
 * The mail an SES receipt rule stored in the tenant's S3 bucket (core/channels/email/ses.ts): read
 * with the channel's AWS access key (`s3:GetObject` on the bucket), signed with aws4fetch as the
 * queue's calls are, from `https://<bucket>.s3.<region>.amazonaws.com` or `s3ApiBase` (path-style,
 * the local emulator). The bucket comes from SNS's signed notification, never from the sender.
 * Larger than the pool reads (16 MiB) it stays a reference, and the agent answers from the subject.
 */
export const emailMedia: ChannelMedia = {
  lookUp: "every",
  fetcher(credentials, endpoints, maxBytes) {
    return async (attachment) => {
      const reference = S3_REFERENCE.exec(attachment.fileId);
      if (!reference || attachment.mimeType !== STORED_MAIL_TYPE) throw new Error("not a stored mail reference");
      const [, region, bucket, key] = reference as unknown as [string, string, string, string];
      if (!credentials.awsAccessKeyId || !credentials.awsSecretAccessKey)
        throw new Error("the channel has no AWS access key to read its bucket");
      const aws = new AwsClient({
        accessKeyId: credentials.awsAccessKeyId,
        secretAccessKey: credentials.awsSecretAccessKey,
        service: "s3",
        region,
        retries: 1,
      });
      const path = key.split("/").map(encodeURIComponent).join("/");
      const url = endpoints.s3ApiBase
        ? `${endpoints.s3ApiBase.replace(/\/$/, "")}/${bucket}/${path}`
        : `https://${bucket}.s3.${region}.amazonaws.com/${path}`;
      const response = await aws.fetch(url, { signal: AbortSignal.timeout(15_000) });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`S3 answered ${response.status} for the stored mail`);
      }
      const size = Number(response.headers.get("content-length") ?? Number.NaN);
      if (size > maxBytes) {
        await response.body?.cancel();
        return { fileSize: size, mimeType: STORED_MAIL_TYPE };
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (bytes.length > maxBytes) return { fileSize: bytes.length, mimeType: STORED_MAIL_TYPE };
      return { bytes, fileSize: bytes.length, mimeType: STORED_MAIL_TYPE };
    };
  },
  inline: async (attachment, bytes) => (attachment.mimeType === STORED_MAIL_TYPE ? readEmailBody(bytes) : undefined),
};
