import type { Role } from "./main.js";
import { InvalidEnvironmentError } from "./env.js";
import { RedisUnavailableError } from "./queue/redis.js";

const USAGE = `Usage: conveyor <command>

  start    webhook server and workers in one process
  web      webhook server only (scale out: many behind a load balancer)
  worker   stage, effect, timer and review workers only (run as many as you like)
  review   review a local diff or git range with the four reviewers (see conveyor review --help)
  runs     list, show, retry, pause, resume or cancel runs (see conveyor runs --help)
  replay   sign and send recorded webhook payloads to a running app (see conveyor replay --help)
  doctor   check Redis, the app's credentials, installations, and each repository's config and implementer workflow
  schedules  list, trigger, pause, resume or backfill repository schedules (see conveyor schedules --help)`;

async function main(argv: string[]): Promise<number> {
  const [command = "start"] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
    return 0;
  }
  if (command === "review") {
    const { reviewCommand } = await import("./cli/review.js");
    return reviewCommand(argv.slice(1), { out: (line) => console.log(line), err: (line) => console.error(line), env: process.env });
  }
  if (command === "runs" || command === "replay" || command === "doctor" || command === "schedules") {
    try {
      process.loadEnvFile?.(".env");
    } catch {
      // no .env: the environment alone configures Conveyor
    }
    const io = { out: (line: string) => console.log(line), err: (line: string) => console.error(line), env: process.env };
    if (command === "runs") return (await import("./cli/runs.js")).runsCommand(argv.slice(1), io);
    if (command === "replay") return (await import("./cli/replay.js")).replayCommand(argv.slice(1), io);
    if (command === "schedules") return (await import("./cli/schedules.js")).schedulesCommand(argv.slice(1), io);
    return (await import("./cli/doctor.js")).doctorCommand(argv.slice(1), io);
  }
  if (command !== "start" && command !== "web" && command !== "worker") {
    console.error(`conveyor: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  try {
    process.loadEnvFile?.(".env");
  } catch {
    // no .env: the environment alone configures Conveyor
  }
  try {
    // Imported here: the operator commands above start fast without Probot, BullMQ and LangChain.
    const { startConveyor } = await import("./main.js");
    const conveyor = await startConveyor(command as Role);
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => {
        void conveyor.stop().then(
          () => process.exit(0),
          (error) => {
            console.error(error);
            process.exit(1);
          },
        );
      });
    }
    return -1; // keep running
  } catch (error) {
    if (error instanceof InvalidEnvironmentError || error instanceof RedisUnavailableError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
