// The required floor: the least work issue #3's requirements imply for a run's transitions, done
// by the bare chain with no engine around it — what any durable engine for this pipeline pays
// before its own code. Its figures bound from below what the transitions goal can be met with.
//
// One chain = one run, one job = one transition, replaying a real finished bench run:
// - every transition: the real `decide` on the real run and event, then ONE Lua commit (version
//   check, run record, event and outcome in the log, outbox entries of its effects, the executed
//   effect's entry acknowledged, result deduped by source, the sweep's active set at start and end);
// - webhooks: ingress's append (deduped by delivery) before the job, a read of the run and the
//   log in the job (ordered application needs it);
// - every set-timer effect: a delayed job (not removed when stale: a stale timer only fires to be
//   refused, so removing it is a choice, not a requirement);
// - parking for approval: one status job (no silent parking), and one compaction (the parked
//   run's log packed with the real codec: the parked-runs memory goal needs it).
// Left out on purpose, though Conveyor does them: stale-timer removal, status updates at other
// stages, run indexes (dashboard, lookups), compaction after parking, acknowledgement batching,
// conflict retries, log lines, observers.
import type { Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { decide } from "../../src/pipeline/decide.js";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import type { Run } from "../../src/pipeline/run.js";
import { packArchiveFrame, packRecord, unpackArchive, unpackRecord, type RawEntry } from "../../src/queue/codec.js";
import type { IssueKey } from "../../src/queue/keys.js";
import type { RunStore } from "../../src/queue/run-store.js";

const APPEND = `
if redis.call('HSETNX', KEYS[1], ARGV[1], '1') == 0 then return false end
return redis.call('XADD', KEYS[2], '*', 'kind', 'event', 'event', ARGV[2], 'source', ARGV[1])`;

const READ = `
local cursor = redis.call('HGET', KEYS[1], 'cursor') or '0-0'
return {redis.call('GET', KEYS[2]) or '', redis.call('XRANGE', KEYS[3], '(' .. cursor, '+', 'COUNT', 100)}`;

// KEYS: meta, run, log, outbox, seen, active. ARGV: expected version ('new' creates), run JSON,
// event JSON ('' when ingress logged it), outcome JSON, result source ('' for webhooks), acknowledged
// outbox field, active-set change ('add' | 'rem' | ''), member, then outbox field/value pairs.
const COMMIT = `
if ARGV[1] ~= 'new' and redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
if ARGV[5] ~= '' and redis.call('HSETNX', KEYS[5], ARGV[5], '1') == 0 then return -1 end
redis.call('SET', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then redis.call('XADD', KEYS[3], '*', 'kind', 'event', 'event', ARGV[3], 'source', ARGV[5]) end
local out = redis.call('XADD', KEYS[3], '*', 'kind', 'outcome', 'outcome', ARGV[4])
redis.call('HSET', KEYS[1], 'version', ARGV[1] == 'new' and 1 or tonumber(ARGV[1]) + 1, 'cursor', out)
if ARGV[6] ~= '' then redis.call('HDEL', KEYS[4], ARGV[6]) end
if ARGV[7] == 'add' then redis.call('ZADD', KEYS[6], 0, ARGV[8]) elseif ARGV[7] == 'rem' then redis.call('ZREM', KEYS[6], ARGV[8]) end
for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
return 1`;

// KEYS: run, log, archive. ARGV: archive frame, packed run record.
const COMPACT = `
redis.call('SET', KEYS[3], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1`;

interface Step {
  before: Run | null;
  event: PipelineEvent;
  /** Delivery id for webhooks, the effect id for effect results. */
  source: string;
  webhook: boolean;
}

export interface RequiredJob {
  chain: number;
  step: number;
  t0: number;
}

type Scripts = {
  reqAppend(...args: string[]): Promise<string | null>;
  /** Buffers: a parked run's record is packed. */
  reqReadBuffer(...args: string[]): Promise<[Buffer, [Buffer, Buffer[]][]]>;
  reqCommit(...args: string[]): Promise<number>;
  reqCompact(...args: (string | Buffer)[]): Promise<number>;
};

/** Work counted per run, to show what the floor did. */
export interface RequiredCounts {
  jobs: number;
  appends: number;
  reads: number;
  commits: number;
  timers: number;
  statusJobs: number;
  compactions: number;
}

export class RequiredFloor {
  private steps: Step[] = [];
  /** The log a run has when it parks, as compaction reads it. */
  private parkedLog: RawEntry[] = [];
  private parkStep = -1;
  private phase = 0;
  readonly counts: RequiredCounts = { jobs: 0, appends: 0, reads: 0, commits: 0, timers: 0, statusJobs: 0, compactions: 0 };

  constructor(
    private readonly redis: Redis,
    private readonly queue: Queue,
    private readonly timers: Queue,
  ) {
    redis.defineCommand("reqAppend", { numberOfKeys: 2, lua: APPEND });
    redis.defineCommand("reqRead", { numberOfKeys: 3, lua: READ });
    redis.defineCommand("reqCommit", { numberOfKeys: 6, lua: COMMIT });
    redis.defineCommand("reqCompact", { numberOfKeys: 3, lua: COMPACT });
  }

  get length(): number {
    return this.steps.length;
  }

  /** Takes a finished run's events from the store and replays them through `decide` to get the run before each. */
  async load(store: RunStore, key: IssueKey): Promise<void> {
    const history = await store.history(key);
    const logged = history.flatMap((entry) => (entry.kind === "event" ? [entry] : []));
    const { run: finished } = await store.load(key);
    if (!finished || logged.length === 0) throw new Error(`bench required floor: no finished run at ${key}`);
    let run: Run | null = null;
    this.parkStep = -1;
    this.steps = logged.map(({ event, source }, index) => {
      const step: Step = { before: run, event, source, webhook: !source.startsWith(`${finished.id}_`) };
      const decision = decide(run, event);
      if (!decision.applied) throw new Error(`bench required floor: ${event.type} was not applied on replay`);
      if (this.parkStep < 0 && decision.run?.stage === "approval") this.parkStep = index;
      run = decision.run;
      return step;
    });
    if (this.parkStep < 0) throw new Error("bench required floor: the run never waited for approval");
    const raw = [...unpackArchive(await store.redis.getBuffer(store.keys.archive(key))), ...(await store.redis.xrange(store.keys.log(key), "-", "+"))];
    this.parkedLog = raw.slice(0, 2 * (this.parkStep + 1));
  }

  /** A new phase: sources and job ids must not collide with the previous one's. */
  startPhase(): void {
    this.phase++;
    for (const name of Object.keys(this.counts) as (keyof RequiredCounts)[]) this.counts[name] = 0;
  }

  private keys(chain: number) {
    const base = `{req}:${chain}`;
    return { meta: `${base}:meta`, run: `${base}:run`, log: `${base}:log`, outbox: `${base}:outbox`, seen: `${base}:seen`, archive: `${base}:archive`, active: "{req}:active" };
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  /** Ingress's part of a webhook transition (append, then the apply job), or the effect job of an effect result. */
  async enqueue(chain: number, step: number): Promise<void> {
    const s = this.steps[step]!;
    if (s.webhook) {
      const k = this.keys(chain);
      await this.scripts.reqAppend(k.seen, k.log, `${this.phase}-${s.source}`, JSON.stringify(s.event));
      this.counts.appends++;
    }
    await this.queue.add("required", { chain, step, t0: performance.now() } satisfies RequiredJob, { jobId: `r${this.phase}-${chain}-${step}` });
  }

  /** One transition, in its job; the last one of a chain enqueues nothing. */
  async run(job: Job<RequiredJob>): Promise<void> {
    const { chain, step } = job.data;
    const s = this.steps[step]!;
    const k = this.keys(chain);
    this.counts.jobs++;
    if (s.webhook) {
      const [record, entries] = await this.scripts.reqReadBuffer(k.meta, k.run, k.log);
      if (record.length > 0) JSON.parse(unpackRecord(record));
      for (const [, fields] of entries) JSON.parse(fields[3]!.toString("utf8"));
      this.counts.reads++;
    }
    const decision = decide(s.before, s.event);
    const run = decision.run!;
    const outcome = { of: "", type: s.event.type, applied: true, reason: decision.reason, stage: run.stage, state: run.state, effects: decision.effects.map((e) => e.kind) };
    const outbox: string[] = [];
    for (const effect of decision.effects) if (effect.kind !== "set-timer") outbox.push(`e:${effect.id}`, JSON.stringify(effect));
    const last = step === this.steps.length - 1;
    const runJson = JSON.stringify(run);
    const committed = await this.scripts.reqCommit(
      ...[k.meta, k.run, k.log, k.outbox, k.seen, k.active],
      step === 0 ? "new" : String(step),
      runJson,
      s.webhook ? "" : JSON.stringify(s.event),
      JSON.stringify(outcome),
      s.webhook ? "" : `${this.phase}-${s.source}`,
      s.webhook ? "" : `e:${s.source}`,
      step === 0 ? "add" : last ? "rem" : "",
      String(chain),
      ...outbox,
    );
    if (committed !== 1) throw new Error(`bench required floor: commit of chain ${chain} step ${step} refused (${committed})`);
    this.counts.commits++;
    await Promise.all(
      decision.effects.map((effect) => {
        if (effect.kind !== "set-timer") return null;
        this.counts.timers++;
        return this.timers.add(effect.timer, { chain, id: effect.id }, { jobId: `t${this.phase}-${chain}-${effect.id}`, delay: 3_600_000 });
      }),
    );
    if (step === this.parkStep) {
      await this.queue.add("status", { chain }, { jobId: `s${this.phase}-${chain}` });
      this.counts.statusJobs++;
      await this.scripts.reqCompact(k.run, k.log, k.archive, packArchiveFrame(this.parkedLog), packRecord(runJson));
      this.counts.compactions++;
    }
    if (!last) await this.enqueue(chain, step + 1);
  }
}
