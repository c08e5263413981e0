// Kills the process groups of a parent's services once that parent is gone, however it
// died (even SIGKILL, where no exit handler runs). The parent writes "+PGID" / "-PGID"
// lines to our stdin; end of stdin means the parent has exited.
// Plain JavaScript so it starts with bare `node`, in a few tens of milliseconds.
import process from "node:process";
import { setTimeout } from "node:timers";

const groups = new Set();
let pending = "";

function signalAll(signal) {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      groups.delete(pgid); // already gone
    }
  }
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  pending += chunk;
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line.startsWith("+")) groups.add(pgid);
    else if (line.startsWith("-")) groups.delete(pgid);
  }
});
process.stdin.on("close", () => {
  if (groups.size === 0) process.exit(0);
  signalAll("SIGTERM");
  setTimeout(() => {
    signalAll("SIGKILL");
    process.exit(0);
  }, 2_000);
});
