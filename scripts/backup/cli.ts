import { CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { createS3Client, parseS3Url, s3SettingsFrom, type S3Settings } from "../../core/storage/s3";
import { runningStack } from "../stack/cli";

/**
 * S3 settings for `npm run backup`/`restore` when the location is `s3://…`: from the environment
 * (`S3_API_BASE` and keys, else Amazon S3 with the default AWS credentials), or, with neither set
 * and the local stack running, its S3 emulator (whose bucket is made here if missing: locally
 * there is nobody else to make it).
 */
export async function s3ForCli(location: string): Promise<S3Settings | undefined> {
  const target = parseS3Url(location);
  if (!target) return undefined;
  if (process.env.S3_API_BASE || process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE) return s3SettingsFrom(process.env);
  const stack = await runningStack();
  if (!stack?.sqs) return s3SettingsFrom(process.env);
  const settings: S3Settings = { region: stack.sqs.region, endpoint: stack.sqs.endpoint, accessKeyId: "test", secretAccessKey: "test" };
  const client = createS3Client(settings);
  try {
    await client
      .send(new HeadBucketCommand({ Bucket: target.bucket }))
      .catch(() => client.send(new CreateBucketCommand({ Bucket: target.bucket })));
  } finally {
    client.destroy();
  }
  return settings;
}
