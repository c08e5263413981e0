import {
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  aws_applicationautoscaling as autoscaling,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  aws_ec2 as ec2,
  aws_ecr as ecr,
  aws_ecs as ecs,
  aws_efs as efs,
  aws_iam as iam,
  aws_kms as kms,
  aws_logs as logs,
  aws_rds as rds,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  aws_servicediscovery as servicediscovery,
  aws_sns as sns,
  aws_sqs as sqs,
} from "aws-cdk-lib";
import type { Construct } from "constructs";

/** The pool's container port: health (`/healthz`, `/readyz`) and Prometheus `/metrics` (workers/pool/health.ts). */
export const POOL_PORT = 9464;
/** How many times a message is received before SQS moves it to the dead-letter queue (as locally: scripts/stack/sqs.ts). */
export const MAX_RECEIVE_COUNT = 5;
/** The keys of the pool's secret in Secrets Manager, each injected as the environment variable of the same name. */
export const POOL_SECRET_KEYS = [
  "DATABASE_URL",
  "SECRETS_KEYRING",
  "SENTRY_DSN",
  "OPENAI_API_KEY",
  "GOOGLE_API_KEY",
  "GROQ_API_KEY",
  /** The platform's own Stripe account: the pool reports usage to its billing meter (core/billing/config.ts). */
  "BILLING_STRIPE_SECRET_KEY",
  /** The plans as JSON, when not the defaults: the pool applies the monthly limits (the edge has the same value as a var). */
  "BILLING_PLANS",
] as const;

export interface PlatformStackProps extends StackProps {
  /** `staging` or `production`: names, alarm thresholds and the pool's SENTRY_ENVIRONMENT. */
  stage: "staging" | "production";
  /** The image's tag in the stack's ECR repository (CI pushes it before deploying: .github/workflows/deploy.yml). */
  imageTag: string;
  /**
   * The pool service's tag when it differs from `imageTag`: the deploy workflow first moves only
   * the migration task to the new image, runs it, then the pool. Default `imageTag`.
   */
  poolImageTag?: string;
  /** A Chroma Cloud (or other) URL; unset: a Chroma service in the cluster with its data on EFS. */
  chromaUrl?: string;
  /** Pool tasks; the service scales between them on queue backlog per task. Defaults 2 and 20. */
  poolMinTasks?: number;
  poolMaxTasks?: number;
  /**
   * Messages waiting per running task that the scaling policy holds: about what one task answers
   * in the latency a customer tolerates (POOL_CONCURRENCY 10 × a few seconds per turn). Default 30.
   */
  backlogPerTask?: number;
  /** The Chroma server image when Chroma runs in the cluster; keep it at the server version the tests run. */
  chromaImage?: string;
  /** Where alarms are mailed; unset, they go to the topic only. */
  alarmEmail?: string;
}

/**
 * The regional half of the platform (the edge is on Cloudflare: wrangler.toml): the inbound FIFO
 * queue and its dead-letter queue, the knowledge jobs queue, the worker pool on ECS Fargate
 * scaled on backlog, Aurora PostgreSQL Serverless v2, S3 for exports and inbound mail, Chroma,
 * secrets, alarms, and the edge's IAM user that may only send to the queues.
 *
 * Everything is encrypted at rest and in transit; IAM statements name their resources (the only
 * `*` is `ecr:GetAuthorizationToken`, which has no resource-level permissions). Stateful parts are
 * retained or snapshotted on deletion, and the database has deletion protection.
 */
export class PlatformStack extends Stack {
  readonly inboundQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly knowledgeJobsQueue: sqs.Queue;
  readonly database: rds.DatabaseCluster;
  readonly poolService: ecs.FargateService;
  readonly edgeUser: iam.User;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { stage } = props;
    const name = (suffix: string) => `agent-${stage}-${suffix}`;

    // Network: the pool reaches model and channel APIs through NAT; the database is in isolated subnets.
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: stage === "production" ? 2 : 1,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "pool", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: "data", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      restrictDefaultSecurityGroup: true,
    });
    vpc.addGatewayEndpoint("S3Endpoint", { service: ec2.GatewayVpcEndpointAwsService.S3 });

    // Alarms go to one encrypted topic; CloudWatch may use its key to publish.
    const alarmKey = new kms.Key(this, "AlarmTopicKey", { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    alarmKey.grant(new iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
    const alarms = new sns.Topic(this, "Alarms", { topicName: name("alarms"), masterKey: alarmKey, enforceSSL: true });
    if (props.alarmEmail)
      new sns.Subscription(this, "AlarmEmail", { topic: alarms, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: props.alarmEmail });

    // Queues: FIFO in high-throughput mode (ordering and deduplication per conversation, the message group).
    const fifo = {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    } satisfies sqs.QueueProps;
    this.deadLetterQueue = new sqs.Queue(this, "InboundDeadLetterQueue", { ...fifo, queueName: `${name("inbound-dlq")}.fifo` });
    this.inboundQueue = new sqs.Queue(this, "InboundQueue", {
      ...fifo,
      queueName: `${name("inbound")}.fifo`,
      visibilityTimeout: Duration.seconds(30), // the pool's POOL_VISIBILITY_TIMEOUT, extended by its heartbeat
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    const knowledgeDeadLetter = new sqs.Queue(this, "KnowledgeJobsDeadLetterQueue", {
      ...fifo,
      queueName: `${name("knowledge-jobs-dlq")}.fifo`,
    });
    this.knowledgeJobsQueue = new sqs.Queue(this, "KnowledgeJobsQueue", {
      ...fifo,
      queueName: `${name("knowledge-jobs")}.fifo`,
      visibilityTimeout: Duration.minutes(5),
      deadLetterQueue: { queue: knowledgeDeadLetter, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    // Buckets: tenant exports (presigned downloads, expire) and inbound mail (SES writes raw MIME).
    const bucket = (id: string, expireAfterDays: number) =>
      new s3.Bucket(this, id, {
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforceSSL: true,
        versioned: true,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [
          {
            expiration: Duration.days(expireAfterDays),
            noncurrentVersionExpiration: Duration.days(1),
            abortIncompleteMultipartUploadAfter: Duration.days(1),
          },
        ],
      });
    const exportsBucket = bucket("ExportsBucket", 7);
    const mailBucket = bucket("InboundMailBucket", 30);
    mailBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "SesWritesInboundMail",
        principals: [new iam.ServicePrincipal("ses.amazonaws.com")],
        actions: ["s3:PutObject"],
        resources: [mailBucket.arnForObjects("inbound/*")],
        conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
      }),
    );

    // Database: Aurora PostgreSQL Serverless v2, encrypted, backed up with point-in-time recovery.
    this.database = new rds.DatabaseCluster(this, "Database", {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_6 }),
      credentials: rds.Credentials.fromGeneratedSecret("platform_owner", { secretName: name("database-owner") }),
      defaultDatabaseName: "agent_platform",
      writer: rds.ClusterInstance.serverlessV2("writer"),
      readers: stage === "production" ? [rds.ClusterInstance.serverlessV2("reader", { scaleWithWriter: true })] : [],
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: stage === "production" ? 32 : 4,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      storageEncrypted: true,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      backup: { retention: Duration.days(stage === "production" ? 35 : 7), preferredWindow: "03:00-04:00" },
      clusterIdentifier: name("database"),
      cloudwatchLogsExports: ["postgresql"],
      parameters: { "rds.force_ssl": "1" },
    });

    // Its log group made here with a retention (RDS would make one without; CDK's retention option needs a Lambda with logs:* on *).
    const databaseLogs = new logs.LogGroup(this, "DatabaseLogs", {
      logGroupName: `/aws/rds/cluster/${name("database")}/postgresql`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.database.node.addDependency(databaseLogs);

    // Secrets the pool reads at start (its DATABASE_URL is the agent_app role's, not the owner's).
    const poolSecrets = new secretsmanager.Secret(this, "PoolSecrets", {
      secretName: name("pool"),
      description: "The pool's environment secrets: fill each key after the first deploy (README: Deploying the pool).",
      secretObjectValue: Object.fromEntries(POOL_SECRET_KEYS.map((key) => [key, SecretValue.unsafePlainText("")])),
    });

    const cluster = new ecs.Cluster(this, "Cluster", { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const repository = new ecr.Repository(this, "PoolImages", {
      repositoryName: name("pool"),
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      encryption: ecr.RepositoryEncryption.KMS,
      lifecycleRules: [{ maxImageCount: 30 }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const image = ecs.ContainerImage.fromEcrRepository(repository, props.imageTag);
    const poolImageTag = props.poolImageTag ?? props.imageTag;

    // Chroma: Chroma Cloud by URL, or a service in the cluster with its data on encrypted EFS.
    const namespace = new servicediscovery.PrivateDnsNamespace(this, "Namespace", { vpc, name: `${stage}.agent.internal` });
    const chromaUrl = props.chromaUrl ?? this.chromaService(cluster, vpc, namespace, props.chromaImage ?? "chromadb/chroma:1.0.20");

    // The pool.
    const logGroup = new logs.LogGroup(this, "PoolLogs", {
      logGroupName: `/agent/${stage}/pool`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const pool = new ecs.FargateTaskDefinition(this, "PoolTask", {
      cpu: 1024,
      memoryLimitMiB: 2048,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    // A read-only root filesystem with a writable /tmp (task storage, gone with the task).
    pool.addVolume({ name: "tmp" });
    const poolContainer = pool.addContainer("pool", {
      image: ecs.ContainerImage.fromEcrRepository(repository, poolImageTag),
      essential: true,
      readonlyRootFilesystem: true,
      user: "node",
      environment: {
        NODE_ENV: "production",
        POOL_PORT: String(POOL_PORT),
        SQS_REGION: this.region,
        INBOUND_QUEUE_URL: this.inboundQueue.queueUrl,
        DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
        KNOWLEDGE_JOBS_QUEUE_URL: this.knowledgeJobsQueue.queueUrl,
        CHROMA_URL: chromaUrl,
        SENTRY_ENVIRONMENT: stage,
        EXPORTS_BUCKET: exportsBucket.bucketName,
        INBOUND_MAIL_BUCKET: mailBucket.bucketName,
        POOL_SHUTDOWN_TIMEOUT_SECONDS: "25",
      },
      secrets: Object.fromEntries(POOL_SECRET_KEYS.map((key) => [key, ecs.Secret.fromSecretsManager(poolSecrets, key)])),
      portMappings: [{ containerPort: POOL_PORT }],
      healthCheck: {
        command: [
          "CMD",
          "node",
          "-e",
          `fetch("http://127.0.0.1:${POOL_PORT}/healthz").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(3),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      // SIGTERM drains in-flight turns (POOL_SHUTDOWN_TIMEOUT_SECONDS) before SIGKILL.
      stopTimeout: Duration.seconds(30),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: "pool" }),
    });
    poolContainer.addMountPoints({ containerPath: "/tmp", sourceVolume: "tmp", readOnly: false });
    this.inboundQueue.grantConsumeMessages(pool.taskRole);
    this.inboundQueue.grantSendMessages(pool.taskRole); // merged rapid messages are flushed back onto the queue
    this.deadLetterQueue.grantSendMessages(pool.taskRole);
    this.deadLetterQueue.grant(pool.taskRole, "sqs:GetQueueAttributes");
    this.knowledgeJobsQueue.grantConsumeMessages(pool.taskRole);
    // S3 by explicit actions (the buckets' grant helpers add wildcard actions such as s3:List*).
    pool.addToTaskRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        resources: [exportsBucket.arnForObjects("*")],
      }),
    );
    pool.addToTaskRolePolicy(new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [exportsBucket.bucketArn] }));
    pool.addToTaskRolePolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [mailBucket.arnForObjects("inbound/*")] }));

    const poolSecurityGroup = new ec2.SecurityGroup(this, "PoolSecurityGroup", {
      vpc,
      description: "Worker pool tasks",
      allowAllOutbound: true,
    });
    this.database.connections.allowDefaultPortFrom(poolSecurityGroup, "The pool reaches PostgreSQL");
    this.poolService = new ecs.FargateService(this, "PoolService", {
      cluster,
      taskDefinition: pool,
      serviceName: name("pool"),
      desiredCount: props.poolMinTasks ?? 2,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [poolSecurityGroup],
      enableExecuteCommand: false,
      cloudMapOptions: { name: "pool", cloudMapNamespace: namespace },
    });
    this.scaleOnBacklog(cluster, props);

    // Migrations run as their own task (same image, owner credentials) before a new pool version.
    const migrate = new ecs.FargateTaskDefinition(this, "MigrateTask", { cpu: 256, memoryLimitMiB: 512 });
    const owner = this.database.secret!;
    migrate.addContainer("migrate", {
      image,
      user: "node",
      readonlyRootFilesystem: true,
      command: ["node", "--enable-source-maps", "dist/migrate.js"],
      // TLS verified against the RDS CA bundle the image trusts (NODE_EXTRA_CA_CERTS, Dockerfile).
      environment: { PGSSLMODE: "verify-full" },
      secrets: {
        PGHOST: ecs.Secret.fromSecretsManager(owner, "host"),
        PGPORT: ecs.Secret.fromSecretsManager(owner, "port"),
        PGDATABASE: ecs.Secret.fromSecretsManager(owner, "dbname"),
        PGUSER: ecs.Secret.fromSecretsManager(owner, "username"),
        PGPASSWORD: ecs.Secret.fromSecretsManager(owner, "password"),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: "migrate" }),
    });

    // The edge (a Cloudflare Worker has no IAM role): an access key that may only send to the two queues
    // and read export archives.
    this.edgeUser = new iam.User(this, "EdgeQueueSender", { userName: name("edge") });
    this.inboundQueue.grant(this.edgeUser, "sqs:SendMessage", "sqs:GetQueueAttributes");
    this.knowledgeJobsQueue.grant(this.edgeUser, "sqs:SendMessage");
    // Its key also presigns tenant export downloads (GET /v1/exports/{id}): read-only, exports only.
    this.edgeUser.addToPolicy(
      new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [exportsBucket.arnForObjects("exports/*")] }),
    );
    const edgeKey = new iam.AccessKey(this, "EdgeAccessKey", { user: this.edgeUser });
    const edgeSecret = new secretsmanager.Secret(this, "EdgeQueueCredentials", {
      secretName: name("edge-sqs"),
      description: "SQS_ACCESS_KEY_ID and SQS_SECRET_ACCESS_KEY for `wrangler secret put` (README: Deploying the edge).",
      secretObjectValue: {
        SQS_ACCESS_KEY_ID: SecretValue.unsafePlainText(edgeKey.accessKeyId),
        SQS_SECRET_ACCESS_KEY: edgeKey.secretAccessKey,
      },
    });

    this.alarmsOn(alarms, logGroup, stage);

    new CfnOutput(this, "InboundQueueUrl", { value: this.inboundQueue.queueUrl });
    new CfnOutput(this, "KnowledgeJobsQueueUrl", { value: this.knowledgeJobsQueue.queueUrl });
    new CfnOutput(this, "PoolRepositoryUri", { value: repository.repositoryUri });
    new CfnOutput(this, "PoolImageTag", { value: poolImageTag });
    new CfnOutput(this, "ClusterName", { value: cluster.clusterName });
    new CfnOutput(this, "ExportsBucketName", { value: exportsBucket.bucketName });
    new CfnOutput(this, "MigrateTaskDefinition", { value: migrate.taskDefinitionArn });
    new CfnOutput(this, "PoolSubnets", {
      value: vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds.join(","),
    });
    new CfnOutput(this, "PoolSecurityGroupId", { value: poolSecurityGroup.securityGroupId });
    new CfnOutput(this, "EdgeCredentialsSecret", { value: edgeSecret.secretName });
    new CfnOutput(this, "PoolSecretsName", { value: poolSecrets.secretName });
  }

  /**
   * Target tracking on messages waiting per running task (visible messages / running tasks), the
   * metric AWS recommends for queue workers; CDK's helper takes only a single metric, so the policy
   * is written with its metric math directly.
   */
  private scaleOnBacklog(cluster: ecs.Cluster, props: PlatformStackProps): void {
    const target = new autoscaling.ScalableTarget(this, "PoolScaling", {
      serviceNamespace: autoscaling.ServiceNamespace.ECS,
      resourceId: `service/${cluster.clusterName}/${this.poolService.serviceName}`,
      scalableDimension: "ecs:service:DesiredCount",
      minCapacity: props.poolMinTasks ?? 2,
      maxCapacity: props.poolMaxTasks ?? 20,
      // ECS's service-linked role for Application Auto Scaling (what `service.autoScaleTaskCount` uses).
      role: iam.Role.fromRoleArn(
        this,
        "PoolScalingRole",
        this.formatArn({
          region: "",
          service: "iam",
          resource: "role/aws-service-role/ecs.application-autoscaling.amazonaws.com",
          resourceName: "AWSServiceRoleForApplicationAutoScaling_ECSService",
        }),
      ),
    });
    target.node.addDependency(this.poolService);
    new autoscaling.CfnScalingPolicy(this, "PoolBacklogPerTask", {
      policyName: `${this.stackName}-pool-backlog-per-task`,
      policyType: "TargetTrackingScaling",
      scalingTargetId: target.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: props.backlogPerTask ?? 30,
        scaleOutCooldown: 60,
        scaleInCooldown: 300,
        customizedMetricSpecification: {
          metrics: [
            {
              id: "visible",
              returnData: false,
              metricStat: {
                metric: {
                  namespace: "AWS/SQS",
                  metricName: "ApproximateNumberOfMessagesVisible",
                  dimensions: [{ name: "QueueName", value: this.inboundQueue.queueName }],
                },
                stat: "Sum",
              },
            },
            {
              id: "running",
              returnData: false,
              metricStat: {
                metric: {
                  namespace: "ECS/ContainerInsights",
                  metricName: "RunningTaskCount",
                  dimensions: [
                    { name: "ClusterName", value: cluster.clusterName },
                    { name: "ServiceName", value: this.poolService.serviceName },
                  ],
                },
                stat: "Average",
              },
            },
            {
              id: "backlogPerTask",
              expression: "visible / IF(running > 0, running, 1)",
              label: "Messages waiting per pool task",
              returnData: true,
            },
          ],
        },
      },
    });
  }

  private chromaService(cluster: ecs.Cluster, vpc: ec2.Vpc, namespace: servicediscovery.PrivateDnsNamespace, chromaImage: string): string {
    const fileSystem = new efs.FileSystem(this, "ChromaData", {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      encrypted: true,
      removalPolicy: RemovalPolicy.RETAIN,
      enableAutomaticBackups: true,
    });
    const accessPoint = fileSystem.addAccessPoint("ChromaAccess", {
      path: "/chroma",
      createAcl: { ownerUid: "1000", ownerGid: "1000", permissions: "750" },
      posixUser: { uid: "1000", gid: "1000" },
    });
    const task = new ecs.FargateTaskDefinition(this, "ChromaTask", { cpu: 1024, memoryLimitMiB: 4096 });
    task.addVolume({
      name: "chroma",
      efsVolumeConfiguration: {
        fileSystemId: fileSystem.fileSystemId,
        transitEncryption: "ENABLED",
        authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: "ENABLED" },
      },
    });
    fileSystem.grantReadWrite(task.taskRole);
    const container = task.addContainer("chroma", {
      image: ecs.ContainerImage.fromRegistry(chromaImage),
      environment: { IS_PERSISTENT: "TRUE", PERSIST_DIRECTORY: "/data", ANONYMIZED_TELEMETRY: "FALSE" },
      portMappings: [{ containerPort: 8000 }],
      logging: ecs.LogDrivers.awsLogs({
        logGroup: new logs.LogGroup(this, "ChromaLogs", { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.RETAIN }),
        streamPrefix: "chroma",
      }),
    });
    container.addMountPoints({ containerPath: "/data", sourceVolume: "chroma", readOnly: false });
    const service = new ecs.FargateService(this, "ChromaService", {
      cluster,
      taskDefinition: task,
      desiredCount: 1,
      minHealthyPercent: 0, // one writer on the volume: stop the old task before the new one starts
      maxHealthyPercent: 100,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      cloudMapOptions: { name: "chroma", cloudMapNamespace: namespace },
    });
    fileSystem.connections.allowDefaultPortFrom(service);
    service.connections.allowFrom(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(8000), "The pool reaches Chroma");
    return `http://chroma.${namespace.namespaceName}:8000`;
  }

  /** Dead letters, the oldest waiting message, and the pool's error lines. */
  private alarmsOn(topic: sns.Topic, poolLogs: logs.LogGroup, stage: string): void {
    const action = new cloudwatchActions.SnsAction(topic);
    const alarm = (id: string, props: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, id, props);
      created.addAlarmAction(action);
      created.addOkAction(action);
    };
    alarm("DeadLetterAlarm", {
      alarmDescription: "Messages reached the inbound dead-letter queue: inspect and redrive with `npm run dlq`.",
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: "Maximum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm("OldestMessageAlarm", {
      alarmDescription: "A customer message has waited over a minute in the inbound queue: the pool is down or saturated.",
      metric: this.inboundQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: "Maximum" }),
      threshold: stage === "production" ? 60 : 300,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const errors = new logs.MetricFilter(this, "PoolErrorLines", {
      logGroup: poolLogs,
      filterPattern: logs.FilterPattern.stringValue("$.level", "=", "error"),
      metricNamespace: `AgentPlatform/${stage}`,
      metricName: "PoolErrors",
      metricValue: "1",
    });
    alarm("PoolErrorRateAlarm", {
      alarmDescription: "The pool logs errors at a sustained rate (turns failing, channels refusing).",
      metric: errors.metric({ period: Duration.minutes(5), statistic: "Sum" }),
      threshold: 25,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
