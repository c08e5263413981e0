import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_RECEIVE_COUNT, PlatformStack, POOL_PORT, POOL_SECRET_KEYS } from "./platform-stack";

type Resource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/** Actions AWS grants on no narrower resource than `*` (their service authorisation reference says so). */
const ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = new Set(["ecr:GetAuthorizationToken"]);

const env = { account: "123456789012", region: "eu-west-1" };
const synth = (props: Partial<ConstructorParameters<typeof PlatformStack>[2]> = {}) => {
  const stack = new PlatformStack(new App(), "agent-platform-test", { stage: "production", imageTag: "sha-abc123", env, ...props });
  return Template.fromStack(stack);
};

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every statement of every identity policy: inline role policies, `AWS::IAM::Policy`, managed policies, users' policies. */
function identityStatements(resources: Record<string, Resource>): Array<{ id: string; statement: Statement }> {
  const found: Array<{ id: string; statement: Statement }> = [];
  for (const [id, resource] of Object.entries(resources)) {
    const documents: unknown[] = [];
    if (resource.Type === "AWS::IAM::Policy" || resource.Type === "AWS::IAM::ManagedPolicy")
      documents.push(resource.Properties?.PolicyDocument);
    if (resource.Type === "AWS::IAM::Role" || resource.Type === "AWS::IAM::User" || resource.Type === "AWS::IAM::Group") {
      for (const policy of list(resource.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined))
        documents.push(policy.PolicyDocument);
    }
    for (const document of documents)
      for (const statement of list((document as { Statement: Statement[] }).Statement)) found.push({ id, statement });
  }
  return found;
}

describe("ops/aws: the regional stack (CDK, synthesised)", () => {
  let production: Template;
  let resources: Record<string, Resource>;
  let staging: Template;

  beforeAll(() => {
    production = synth();
    resources = production.toJSON().Resources as Record<string, Resource>;
    staging = synth({ stage: "staging", chromaUrl: "https://chroma.example.com", poolMinTasks: 1, poolMaxTasks: 4 });
  });

  const byType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);

  it("has an inbound FIFO queue in high-throughput mode, redriven to a FIFO dead-letter queue after 5 receives", () => {
    expect(MAX_RECEIVE_COUNT).toBe(5);
    const [dlqId] = Object.keys(
      production.findResources("AWS::SQS::Queue", { Properties: { QueueName: "agent-production-inbound-dlq.fifo" } }),
    );
    expect(dlqId).toBeDefined();
    production.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: "agent-production-inbound.fifo",
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] }, maxReceiveCount: 5 },
    });
    production.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: "agent-production-inbound-dlq.fifo",
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it("encrypts every queue, bucket, database, file system, topic, repository and log-bearing store, and refuses plain HTTP", () => {
    for (const [id, queue] of byType("AWS::SQS::Queue")) {
      expect(queue.Properties?.SqsManagedSseEnabled === true || queue.Properties?.KmsMasterKeyId !== undefined, id).toBe(true);
    }
    expect(byType("AWS::SQS::QueuePolicy")).toHaveLength(byType("AWS::SQS::Queue").length);
    for (const [id, bucket] of byType("AWS::S3::Bucket")) {
      expect(bucket.Properties?.BucketEncryption, id).toBeDefined();
      expect(bucket.Properties?.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect((bucket.Properties?.LifecycleConfiguration as { Rules: unknown[] }).Rules.length, id).toBeGreaterThan(0);
      expect(bucket.DeletionPolicy, id).toBe("Retain");
    }
    // Every queue, bucket and topic policy denies requests not over TLS.
    for (const type of ["AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"]) {
      for (const [id, policy] of byType(type)) {
        const statements = list((policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
        expect(
          statements.some((s) => s.Effect === "Deny" && JSON.stringify(s.Condition).includes('"aws:SecureTransport":"false"')),
          id,
        ).toBe(true);
      }
    }
    production.allResourcesProperties("AWS::RDS::DBCluster", { StorageEncrypted: true });
    production.allResourcesProperties("AWS::EFS::FileSystem", { Encrypted: true });
    production.allResourcesProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    production.allResourcesProperties("AWS::ECR::Repository", {
      EncryptionConfiguration: { EncryptionType: "KMS" },
      ImageScanningConfiguration: { ScanOnPush: true },
    });
    production.allResourcesProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    production.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: Match.anyValue() });
    production.allResourcesProperties("AWS::RDS::DBClusterParameterGroup", { Parameters: { "rds.force_ssl": "1" } });
  });

  it("runs Aurora PostgreSQL Serverless v2 with backups, point-in-time recovery, deletion protection and a snapshot on removal", () => {
    production.hasResource("AWS::RDS::DBCluster", {
      DeletionPolicy: "Snapshot",
      UpdateReplacePolicy: "Snapshot",
      Properties: Match.objectLike({
        Engine: "aurora-postgresql",
        DeletionProtection: true,
        BackupRetentionPeriod: 35,
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 32 },
        EnableCloudwatchLogsExports: ["postgresql"],
      }),
    });
    // Automated backups give point-in-time recovery within the retention period; both stages keep them.
    staging.hasResourceProperties("AWS::RDS::DBCluster", { DeletionProtection: true, BackupRetentionPeriod: 7 });
    production.resourceCountIs("AWS::RDS::DBInstance", 2);
    staging.resourceCountIs("AWS::RDS::DBInstance", 1);
    production.allResourcesProperties("AWS::RDS::DBInstance", { DBInstanceClass: "db.serverless", PubliclyAccessible: false });
  });

  it("grants no wildcard action, and a * resource only to actions that have no resource-level permissions", () => {
    const statements = identityStatements(resources);
    expect(statements.length).toBeGreaterThan(5);
    for (const { id, statement } of statements) {
      for (const action of list(statement.Action)) expect(action.includes("*"), `${id}: ${action}`).toBe(false);
      if (list(statement.Resource).includes("*")) {
        for (const action of list(statement.Action))
          expect(ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS.has(action), `${id}: ${action} on *`).toBe(true);
      }
    }
    // No resource policy allows anyone: its Allow statements name a service or account principal.
    for (const type of ["AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::KMS::Key"]) {
      for (const [id, resource] of byType(type)) {
        const document = (resource.Properties?.PolicyDocument ?? resource.Properties?.KeyPolicy) as { Statement: Statement[] } | undefined;
        for (const statement of list(document?.Statement)) {
          if (statement.Effect === "Allow")
            expect(JSON.stringify(statement.Principal), `${id}: ${statement.Sid}`).not.toMatch(/^"\*"$|"AWS":"\*"/);
        }
      }
    }
  });

  it("lets the edge's access key only send to the inbound and knowledge queues, and read export archives (to presign their downloads)", () => {
    const [userId] = byType("AWS::IAM::User").map(([id]) => id);
    const edgeStatements = byType("AWS::IAM::Policy")
      .filter(([, policy]) => JSON.stringify(policy.Properties?.Users ?? []).includes(userId!))
      .flatMap(([, policy]) => list((policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement));
    const queueArn = (name: string) => {
      const [id] = Object.keys(production.findResources("AWS::SQS::Queue", { Properties: { QueueName: name } }));
      return { "Fn::GetAtt": [id, "Arn"] };
    };
    expect(edgeStatements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: "Allow",
          Action: ["sqs:SendMessage", "sqs:GetQueueAttributes"],
          Resource: queueArn("agent-production-inbound.fifo"),
        }),
        expect.objectContaining({ Effect: "Allow", Action: "sqs:SendMessage", Resource: queueArn("agent-production-knowledge-jobs.fifo") }),
        expect.objectContaining({ Effect: "Allow", Action: "s3:GetObject" }),
      ]),
    );
    expect(JSON.stringify(edgeStatements.find((statement) => statement.Action === "s3:GetObject"))).toContain("/exports/*");
    expect(edgeStatements).toHaveLength(3);
    // Its secret key is stored in Secrets Manager, never an output of the stack.
    expect(JSON.stringify(production.toJSON().Outputs)).not.toContain("SecretAccessKey");
  });

  it("runs the pool on Fargate as a non-root user with a health check, its secrets from Secrets Manager, and scales it on backlog per task", () => {
    production.hasResourceProperties("AWS::ECS::TaskDefinition", {
      RequiresCompatibilities: ["FARGATE"],
      ContainerDefinitions: [
        Match.objectLike({
          Name: "pool",
          User: "node",
          ReadonlyRootFilesystem: true,
          Image: Match.objectLike({ "Fn::Join": Match.arrayWith([Match.arrayWith([":sha-abc123"])]) }),
          PortMappings: [Match.objectLike({ ContainerPort: POOL_PORT })],
          HealthCheck: Match.objectLike({ Command: Match.arrayWith([Match.stringLikeRegexp(`127\\.0\\.0\\.1:${POOL_PORT}/healthz`)]) }),
          Secrets: Match.arrayWith(POOL_SECRET_KEYS.map((key) => Match.objectLike({ Name: key }))),
          StopTimeout: 30,
        }),
      ],
    });
    production.hasResourceProperties("AWS::ECS::Service", {
      ServiceName: "agent-production-pool",
      LaunchType: "FARGATE",
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }),
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: "DISABLED" }) },
    });
    production.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", {
      MinCapacity: 2,
      MaxCapacity: 20,
      ScalableDimension: "ecs:service:DesiredCount",
      RoleARN: Match.objectLike({
        "Fn::Join": Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp("AWSServiceRoleForApplicationAutoScaling_ECSService")])]),
      }),
    });
    staging.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", { MinCapacity: 1, MaxCapacity: 4 });
    production.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 30,
        CustomizedMetricSpecification: {
          Metrics: Match.arrayWith([
            Match.objectLike({
              Id: "visible",
              MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: "ApproximateNumberOfMessagesVisible" }) }),
            }),
            Match.objectLike({
              Id: "running",
              MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: "RunningTaskCount" }) }),
            }),
            Match.objectLike({ Id: "backlogPerTask", Expression: Match.stringLikeRegexp("visible / "), ReturnData: true }),
          ]),
        },
      }),
    });
  });

  it("moves the migration task to a new image before the pool when the pool's tag is given apart", () => {
    const template = synth({ stage: "staging", imageTag: "sha-new", poolImageTag: "sha-old", chromaUrl: "https://chroma.example.com" });
    const images = Object.values(template.findResources("AWS::ECS::TaskDefinition")).map((task) => {
      const [container] = (task as Resource).Properties!.ContainerDefinitions as Array<{ Name: string; Image: unknown }>;
      return [container!.Name, JSON.stringify(container!.Image).match(/:(sha-\w+)"/)?.[1]];
    });
    expect(Object.fromEntries(images)).toEqual({ pool: "sha-old", migrate: "sha-new" });
    expect(template.toJSON().Outputs.PoolImageTag.Value).toBe("sha-old");
  });

  it("has a migration task on the same image with the owner's credentials, separate from the pool", () => {
    production.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [
        Match.objectLike({
          Name: "migrate",
          Command: ["node", "--enable-source-maps", "dist/migrate.js"],
          Secrets: Match.arrayWith([Match.objectLike({ Name: "PGHOST" }), Match.objectLike({ Name: "PGPASSWORD" })]),
          Environment: [{ Name: "PGSSLMODE", Value: "verify-full" }],
        }),
      ],
    });
  });

  it("alarms on dead letters, the age of the oldest message and the pool's error rate, to the alarm topic", () => {
    const alarms = byType("AWS::CloudWatch::Alarm").map(([, alarm]) => alarm.Properties!);
    expect(alarms.map((alarm) => alarm.MetricName).sort()).toEqual([
      "ApproximateAgeOfOldestMessage",
      "ApproximateNumberOfMessagesVisible",
      "PoolErrors",
    ]);
    const [topicId] = byType("AWS::SNS::Topic").map(([id]) => id);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    production.hasResourceProperties("AWS::Logs::MetricFilter", { FilterPattern: '{ $.level = "error" }' });
  });

  it("runs Chroma in the cluster on encrypted EFS unless a Chroma URL is configured", () => {
    production.resourceCountIs("AWS::ECS::Service", 2);
    production.resourceCountIs("AWS::EFS::FileSystem", 1);
    staging.resourceCountIs("AWS::ECS::Service", 1);
    staging.resourceCountIs("AWS::EFS::FileSystem", 0);
    staging.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [
        Match.objectLike({ Name: "pool", Environment: Match.arrayWith([{ Name: "CHROMA_URL", Value: "https://chroma.example.com" }]) }),
      ],
    });
  });

  it("synthesises through the app entry (what `cdk deploy` runs) and refuses to without an image tag", async () => {
    const outdir = await mkdtemp(join(tmpdir(), "cdk-out-"));
    const app = fileURLToPath(new URL("./app.ts", import.meta.url));
    const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
    const run = (context: Record<string, string>) =>
      promisify(execFile)(tsx, [app], {
        env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_DEFAULT_REGION: "eu-west-1" },
      });
    try {
      await run({ stage: "production", imageTag: "sha-abc123" });
      expect(await readdir(outdir)).toContain("agent-platform-production.template.json");
      const template = JSON.parse(await readFile(join(outdir, "agent-platform-production.template.json"), "utf8")) as { Resources: object };
      expect(Object.keys(template.Resources).length).toBeGreaterThan(50);
      await expect(run({ stage: "production" })).rejects.toThrow(/-c imageTag=<tag>/);
      await expect(run({ stage: "prod", imageTag: "x" })).rejects.toThrow(/stage must be staging or production/);
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});
