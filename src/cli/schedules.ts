import { pino } from "pino";
import { InvalidEnvironmentError, readSettings } from "../env.js";
import { connectRedis, RedisUnavailableError } from "../queue/redis.js";
import { createScheduleQueue, ScheduleKeys, ScheduleNotFoundError, Schedulers, SCHEDULE_JOB_OPTIONS } from "../queue/schedulers.js";
import { formatInZone } from "../schedules/template.js";
import { parseWhen } from "../schedules/when.js";
import { renderHistoryText, renderScheduleListText } from "../app/schedules/render.js";

export const SCHEDULES_USAGE = `Usage: conveyor schedules <command>

  list [owner/repo]                          schedules with their next fire times (all repositories, or one)
  history <owner/repo> <id>                  a schedule's last firings
  trigger <owner/repo> <id>                  fire a schedule now (a worker runs it)
  pause <owner/repo> <id>                    stop a schedule until resumed
  resume <owner/repo> <id>                   start it again from its next due time
  backfill <owner/repo> <id> <from> <to>     fire every due time in [from, to] that has not fired
                                             (2026-11-01, 2026-11-01T09:00 in the schedule's time zone, or ISO 8601)
  sync [owner/repo]                          read .github/conveyor.yml again (all installed repositories, or one)

Reads REDIS_URL and CONVEYOR_PREFIX like the app. Exit codes: 0 done, 1 not found or refused, 2 usage.`;

export interface SchedulesCommandIO {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

/** `conveyor schedules …`: the same operations as `/conveyor schedules …`, against Redis directly. */
export async function schedulesCommand(argv: string[], io: SchedulesCommandIO): Promise<number> {
  const [command = "list", ...args] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    io.out(SCHEDULES_USAGE);
    return 0;
  }
  const arity: Record<string, [number, number]> = { list: [0, 1], history: [2, 2], trigger: [2, 2], pause: [2, 2], resume: [2, 2], backfill: [4, 4], sync: [0, 1] };
  const bounds = arity[command];
  if (!bounds || args.length < bounds[0] || args.length > bounds[1]) {
    io.err(`conveyor schedules: ${bounds ? `wrong arguments for ${command}` : `unknown command "${command}"`}\n\n${SCHEDULES_USAGE}`);
    return 2;
  }
  let settings;
  let redis;
  try {
    settings = readSettings(io.env);
    redis = await connectRedis(settings.REDIS_URL);
  } catch (error) {
    if (error instanceof InvalidEnvironmentError || error instanceof RedisUnavailableError) {
      io.err(error.message);
      return 1;
    }
    throw error;
  }
  const queue = createScheduleQueue(redis, `{${settings.CONVEYOR_PREFIX}}`);
  const schedulers = new Schedulers({ redis, queue, keys: new ScheduleKeys(settings.CONVEYOR_PREFIX), log: pino({ level: "silent" }) });
  try {
    return await run(command, args, schedulers, io);
  } finally {
    await queue.close();
    await redis.quit();
  }
}

async function run(command: string, args: string[], schedulers: Schedulers, io: SchedulesCommandIO): Promise<number> {
  const by = `cli:${process.env.USER ?? "operator"}`;
  if (command === "sync") {
    const only = args[0];
    await schedulers.queue.add("resync-all", { kind: "resync-all", ...(only ? { only } : {}) }, { ...SCHEDULE_JOB_OPTIONS.work, jobId: `resync-cli-${Date.now()}` });
    io.out(`queued a sync of ${only ?? "every installed repository"}; a worker reads the configs from GitHub`);
    return 0;
  }
  if (command === "list" && args.length === 0) {
    const repos = await schedulers.repositories();
    if (repos.length === 0) io.out("no repository has schedules");
    for (const repo of repos) for (const line of renderScheduleListText(await schedulers.list(repo.id), repo.fullName)) io.out(line);
    return 0;
  }
  const fullName = args[0]!;
  const repoId = await schedulers.repoIdOf(fullName);
  if (repoId === null) {
    io.err(`conveyor schedules: no schedules are known for ${fullName} (try: conveyor schedules sync ${fullName})`);
    return 1;
  }
  const id = args[1]!;
  try {
    switch (command) {
      case "list":
        for (const line of renderScheduleListText(await schedulers.list(repoId), fullName)) io.out(line);
        return 0;
      case "history": {
        const spec = (await schedulers.registered(repoId)).get(id)?.spec;
        const lines = renderHistoryText(await schedulers.history(repoId, id, 50), spec?.timezone ?? "UTC");
        for (const line of lines.length ? lines : ["  no firings logged"]) io.out(line);
        return 0;
      }
      case "trigger":
        io.out(`triggered ${id}: firing ${await schedulers.trigger(repoId, id, { by })} queued`);
        return 0;
      case "pause":
        io.out((await schedulers.pause(repoId, id, by)).changed ? `paused ${id}` : `${id} was already paused`);
        return 0;
      case "resume": {
        const { changed, next } = await schedulers.resume(repoId, id, by);
        const spec = (await schedulers.registered(repoId)).get(id)!.spec;
        io.out(`${changed ? "resumed" : "was not paused:"} ${id}${next !== null ? `; next fire ${formatInZone(next, spec.timezone)}` : ""}`);
        return 0;
      }
      case "backfill": {
        const spec = (await schedulers.registered(repoId)).get(id)?.spec;
        if (!spec) throw new ScheduleNotFoundError(`no schedule "${id}" is registered for ${fullName}`);
        const from = parseWhen(args[2]!, spec.timezone, "start");
        const to = parseWhen(args[3]!, spec.timezone, "end");
        if (from === null || to === null) {
          io.err(`conveyor schedules: cannot read "${from === null ? args[2] : args[3]}" as a time (2026-11-01, 2026-11-01T09:00 or ISO 8601)`);
          return 2;
        }
        const { due } = await schedulers.backfill(repoId, id, from, to, by);
        io.out(`backfilling ${id}: ${due.length} due time${due.length === 1 ? "" : "s"}${due.length ? ` (${due.map((t) => formatInZone(t, spec.timezone)).join(", ")})` : ""}`);
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof ScheduleNotFoundError || error instanceof RangeError) {
      io.err(`conveyor schedules: ${error.message}`);
      return 1;
    }
    throw error;
  }
  return 2;
}
