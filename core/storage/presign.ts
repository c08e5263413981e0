import { AwsClient } from "aws4fetch";

/** What presigning needs: a key pair allowed to read the bucket (the edge holds one for exports). */
export interface PresignSettings {
  region: string;
  /** An S3-compatible endpoint (path-style); unset: Amazon S3's virtual-hosted URL. */
  endpoint?: string | undefined;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * A presigned GET URL for one object (SigV4 in the query string, `X-Amz-Expires` seconds), made
 * with aws4fetch because it runs in workerd, where the S3 SDK's presigner would add most of the SDK
 * to the edge bundle.
 */
export async function presignGet(
  settings: PresignSettings,
  bucket: string,
  key: string,
  options: { expiresInSeconds?: number; now?: Date; filename?: string } = {},
): Promise<{ url: string; expiresAt: string }> {
  const expires = options.expiresInSeconds ?? 900;
  const path = key.split("/").map(encodeURIComponent).join("/");
  const url = new URL(
    settings.endpoint
      ? `${settings.endpoint.replace(/\/$/, "")}/${bucket}/${path}`
      : `https://${bucket}.s3.${settings.region}.amazonaws.com/${path}`,
  );
  url.searchParams.set("X-Amz-Expires", String(expires));
  if (options.filename)
    url.searchParams.set("response-content-disposition", `attachment; filename="${options.filename.replace(/"/g, "")}"`);
  const client = new AwsClient({
    accessKeyId: settings.accessKeyId,
    secretAccessKey: settings.secretAccessKey,
    service: "s3",
    region: settings.region,
  });
  const now = options.now ?? new Date();
  const signed = await client.sign(url.toString(), {
    method: "GET",
    aws: { signQuery: true, datetime: now.toISOString().replace(/[:-]|\.\d{3}/g, "") },
  });
  return { url: signed.url, expiresAt: new Date(now.getTime() + expires * 1000).toISOString() };
}
