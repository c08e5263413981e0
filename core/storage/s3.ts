import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";

/**
 * Where objects go: Amazon S3 in production (the task role's credentials, `S3_API_BASE` unset),
 * any S3-compatible server elsewhere (locally the fauxqs emulator: path-style addressing on its
 * loopback endpoint). One place builds the client, so backups and tenant exports agree.
 */
export interface S3Settings {
  region: string;
  /** An S3-compatible endpoint; unset for Amazon S3. */
  endpoint?: string;
  /** Explicit keys (local emulator); unset uses the SDK's default chain (task role, profile). */
  accessKeyId?: string;
  secretAccessKey?: string;
}

export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
    ...(settings.accessKeyId && settings.secretAccessKey
      ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
      : {}),
  });
}

/**
 * S3 settings from `S3_REGION` (else `fallbackRegion`, else `AWS_REGION`), `S3_API_BASE` (an
 * S3-compatible endpoint), `S3_ACCESS_KEY_ID` and `S3_SECRET_ACCESS_KEY`: the pool's variables, read
 * the same way by the backup CLI.
 */
export function s3SettingsFrom(
  env: Partial<Record<"S3_REGION" | "AWS_REGION" | "S3_API_BASE" | "S3_ACCESS_KEY_ID" | "S3_SECRET_ACCESS_KEY", string | undefined>>,
  fallbackRegion?: string,
): S3Settings {
  return {
    region: env.S3_REGION || fallbackRegion || env.AWS_REGION || "us-east-1",
    ...(env.S3_API_BASE ? { endpoint: env.S3_API_BASE } : {}),
    ...(env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
      ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY }
      : {}),
  };
}

/** `s3://bucket/some/prefix` → `{ bucket, prefix: "some/prefix" }`; anything else → undefined. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match) return undefined;
  return { bucket: match[1]!, prefix: (match[2] ?? "").replace(/^\/+|\/+$/g, "") };
}

/** Deletes every object under `prefix` (a purged tenant's exports), a listing page (up to 1,000) at a time. */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<number> {
  if (!prefix.endsWith("/")) throw new Error("deletePrefix: the prefix must end with / (a folder, never a partial name)");
  let deleted = 0;
  for (;;) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 }));
    const keys = (listed.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
    if (keys.length === 0) return deleted;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    deleted += keys.length;
  }
}
