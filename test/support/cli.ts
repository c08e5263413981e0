import { spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../scripts/local-stack";

/**
 * Runs one of the stack's CLIs (`scripts/<name>.ts`) as a person would against the stack whose
 * state is in `stackDir`, typing `input`; answers everything it printed (stdout and stderr) and
 * its exit code.
 */
export async function runStackCli(
  script: string,
  args: string[],
  input: string,
  stackDir: string,
): Promise<{ output: string; code: number | null }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(PROJECT_ROOT, "scripts", script), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, AGENT_STACK_DIR: stackDir },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { output, code };
}
