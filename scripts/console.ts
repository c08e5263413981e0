/**
 * `npm run console -- link [--email <admin email>]`: a one-time console sign-in link for a user of
 * the running local stack (default: the demo tenant's admin), valid 15 minutes. The stack must run
 * with local sign-in (no AUTH0_ISSUER).
 */
import { asc, eq } from "drizzle-orm";
import { createPoolDb } from "../db/client";
import { memberships, users } from "../db/schema";
import { consoleSignInUrl } from "./local-stack";
import { DEMO_ADMIN_EMAIL } from "./seed";
import { ownerDatabaseUrl, readStackState } from "./stack/cli";

async function main(args: string[]) {
  const [command] = args;
  if (command !== "link") {
    console.log("usage: npm run console -- link [--email <user email>]");
    process.exit(command ? 2 : 0);
  }
  const emailAt = args.indexOf("--email");
  const email = (emailAt >= 0 ? args[emailAt + 1] : DEMO_ADMIN_EMAIL)?.toLowerCase();
  if (!email) throw new Error("--email needs an address");
  const state = await readStackState();
  const adminUrl = await ownerDatabaseUrl();
  const handle = createPoolDb(adminUrl, { max: 1, applicationName: "agent-platform-cli" });
  let member: { tenantId: string; userId: string } | undefined;
  try {
    // The owner connection sees every tenant: the user's oldest membership is the one signed into.
    [member] = await handle.db
      .select({ tenantId: memberships.tenantId, userId: users.id })
      .from(users)
      .innerJoin(memberships, eq(memberships.userId, users.id))
      .where(eq(users.email, email))
      .orderBy(asc(memberships.createdAt))
      .limit(1);
  } finally {
    await handle.close();
  }
  if (!member) throw new Error(`no user ${email} with a tenant: sign up at ${state.edgeUrl}/console/#/sign-up`);
  console.log(await consoleSignInUrl(adminUrl, state.edgeUrl, member));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`console: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
