/**
 * The AWS CDK app: `npx aws-cdk@2 deploy --app "npx tsx ops/aws/app.ts" -c stage=staging -c imageTag=<tag>`
 * (what .github/workflows/deploy.yml runs). Context: `stage` (staging | production), `imageTag`
 * (the image pushed to the stack's ECR repository), optional `poolImageTag` (the pool's, when the
 * migration task moves first), `chromaUrl`, `alarmEmail`,
 * `poolMinTasks`, `poolMaxTasks`. Account and region come from the deploying credentials.
 */
import { App } from "aws-cdk-lib";
import { PlatformStack } from "./platform-stack";

const app = new App();
const stage = app.node.tryGetContext("stage") ?? "staging";
if (stage !== "staging" && stage !== "production")
  throw new Error(`ops/aws: stage must be staging or production, not ${JSON.stringify(stage)}`);
const imageTag = app.node.tryGetContext("imageTag");
if (typeof imageTag !== "string" || imageTag === "") throw new Error("ops/aws: pass the pool image's tag: -c imageTag=<tag>");
const number = (key: string) => {
  const value = app.node.tryGetContext(key);
  return value === undefined ? undefined : Number(value);
};

new PlatformStack(app, `agent-platform-${stage}`, {
  stage,
  imageTag,
  poolImageTag: app.node.tryGetContext("poolImageTag") || undefined,
  chromaUrl: app.node.tryGetContext("chromaUrl"),
  alarmEmail: app.node.tryGetContext("alarmEmail"),
  poolMinTasks: number("poolMinTasks"),
  poolMaxTasks: number("poolMaxTasks"),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  terminationProtection: stage === "production",
});
app.synth();
