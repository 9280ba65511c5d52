import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Worker } from "bullmq";
import { issueKey } from "../../queue/keys.js";
import type { RunStore } from "../../queue/run-store.js";
import { registerHousekeeping, ScheduleKeys, Schedulers, SCHEDULE_JOB_OPTIONS, startScheduleWorker, type ScheduleHandlers, type ScheduleJobData, type ScheduleQueue, type SchedulersOptions } from "../../queue/schedulers.js";
import type { GetOctokit, Octokit } from "../effects/octokit.js";
import { cleanupRuns } from "./cleanup-runs.js";
import { loadRepoSchedules } from "./load.js";
import { reconcileDeliveries } from "./reconcile-deliveries.js";
import { reportScheduleProblems } from "./report-problems.js";
import { runScheduleCommand } from "./run-command.js";
import type { ScheduleSettings } from "./settings.js";
import { createSpawn } from "./spawn.js";

export interface SchedulingOptions {
  redis: Redis;
  /** A connection for the worker (BullMQ blocks on it). */
  connection: Redis;
  queue: ScheduleQueue;
  /** The BullMQ prefix (`{conveyor}`). */
  queuePrefix: string;
  /** The Redis key prefix (`conveyor`). */
  keyPrefix: string;
  store: RunStore;
  /** Installation-authenticated Octokit. */
  getOctokit: GetOctokit;
  /** App-authenticated Octokit (JWT): `probot.auth()`. */
  getAppOctokit: () => Promise<Octokit>;
  settings: ScheduleSettings;
  log: Logger;
  /** Told of every firing that ended (metrics). */
  onFiring?: SchedulersOptions["onFiring"];
  clock?: () => number;
  concurrency?: number;
}

export interface Scheduling {
  schedulers: Schedulers;
  worker: Worker<ScheduleJobData>;
  handlers: ScheduleHandlers;
  close(): Promise<void>;
}

/**
 * The schedules' worker side, started in the worker role: the schedule worker (ticks, firings,
 * syncs, commands, housekeeping), the housekeeping job schedulers, and the start-up repair that
 * gives every registered schedule its job scheduler back.
 */
export async function startScheduling(options: SchedulingOptions): Promise<Scheduling> {
  const { queue, store, getOctokit, settings, log } = options;
  const keys = new ScheduleKeys(options.keyPrefix);
  const schedulers = new Schedulers({ redis: options.redis, queue, keys, log, ...(options.clock ? { clock: options.clock } : {}), ...(options.onFiring ? { onFiring: options.onFiring } : {}) });
  const rules = { minPeriodMs: settings.CONVEYOR_SCHEDULE_MIN_PERIOD };

  const handlers: ScheduleHandlers = {
    spawn: createSpawn(getOctokit),
    runStateOf: async (repoId, issue) => (await store.load(issueKey(repoId, issue))).run?.state ?? null,
    async sync({ repo, reason, defaultBranch }) {
      const octokit = await getOctokit(repo.installationId);
      const loaded = await loadRepoSchedules(octokit, repo, rules, defaultBranch);
      const report = await schedulers.sync(repo, loaded);
      const memory = {
        get: (field: string) => options.redis.hget(keys.repo(repo.id), field),
        set: async (field: string, value: string) => void (await options.redis.hset(keys.repo(repo.id), field, value)),
      };
      const reported = await reportScheduleProblems(octokit, repo, report, memory);
      log.info({ repoId: repo.id, reason, ...report, problems: report.problems.length, reported }, `schedules of ${repo.owner}/${repo.name} synced at ${report.version.slice(0, 12)} (${reason})`);
      return { ...report, reported };
    },
    command: (job) =>
      runScheduleCommand(job, {
        schedulers,
        getOctokit,
        log,
        requestSync: async (command) => void (await queue.add("sync", { kind: "sync", repo: command.repo, reason: `command by ${command.login}` }, { ...SCHEDULE_JOB_OPTIONS.work, jobId: `sync-cmd-${command.repo.id}-${command.commentId}` })),
      }),
    async resyncAll({ only }) {
      const app = await options.getAppOctokit();
      const window = Math.floor(Date.now() / 600_000);
      let queued = 0;
      for (const installation of await app.paginate("GET /app/installations", { per_page: 100 })) {
        const octokit = await getOctokit(installation.id);
        const repos = await octokit.paginate("GET /installation/repositories", { per_page: 100 });
        for (const repo of repos) {
          if (only && repo.full_name.toLowerCase() !== only.toLowerCase()) continue;
          const ref = { id: repo.id, owner: repo.owner.login, name: repo.name, installationId: installation.id };
          await queue.add("sync", { kind: "sync", repo: ref, reason: "resync" }, { ...SCHEDULE_JOB_OPTIONS.work, jobId: `sync-resync-${repo.id}-${window}` });
          queued++;
        }
      }
      return { queued };
    },
    reconcileDeliveries: async () => reconcileDeliveries(await options.getAppOctokit(), options.redis, keys.redelivered(), log, { maxRedeliveries: settings.CONVEYOR_RECONCILE_MAX }),
    cleanupRuns: () => cleanupRuns(store, keys.cleanupCursor(), getOctokit, log),
  };

  const worker = startScheduleWorker({ connection: options.connection, prefix: options.queuePrefix, schedulers, handlers, log, ...(options.concurrency ? { concurrency: options.concurrency } : {}) });
  await registerHousekeeping(queue, { reconcileEveryMs: settings.CONVEYOR_RECONCILE_EVERY, cleanupEveryMs: settings.CONVEYOR_CLEANUP_EVERY, resyncEveryMs: settings.CONVEYOR_RESYNC_EVERY });
  const repaired = await schedulers.repair();
  if (repaired.restored) log.warn(repaired, "schedules: restored job schedulers missing at start-up");
  return {
    schedulers,
    worker,
    handlers,
    async close() {
      await worker.close();
    },
  };
}
