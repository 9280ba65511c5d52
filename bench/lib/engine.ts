// The engine as src/main.ts composes it (Redis → Keys → RunStore → queues → Engine), without the
// Probot server, for benchmarks that drive runs directly. `makeStore`/`makeEngine` let a benchmark
// pass a subclass that only observes (timestamps, counters); the Redis work stays the real one.
import type { Logger } from "pino";
import type { Redis } from "ioredis";
import { Engine } from "../../src/queue/engine.js";
import { Keys } from "../../src/queue/keys.js";
import { createQueues, type Queues } from "../../src/queue/queues.js";
import { connectRedis } from "../../src/queue/redis.js";
import { RunStore } from "../../src/queue/run-store.js";
import { startWorkers, type ExecuteEffect, type Workers } from "../../src/queue/workers.js";

export interface BenchEngine<S extends RunStore = RunStore, E extends Engine = Engine> {
  redis: Redis;
  keys: Keys;
  queuePrefix: string;
  store: S;
  queues: Queues;
  engine: E;
  workers: Workers | null;
  startWorkers(execute: ExecuteEffect, concurrency?: { events?: number; effects?: number; timers?: number }): Workers;
  stop(): Promise<void>;
}

export async function buildEngine<S extends RunStore = RunStore, E extends Engine = Engine>(options: {
  redisUrl: string;
  prefix?: string;
  log: Logger;
  makeStore?: (redis: Redis, keys: Keys) => S;
  makeEngine?: (store: S, queues: Queues, log: Logger) => E;
}): Promise<BenchEngine<S, E>> {
  const prefix = options.prefix ?? "conveyor";
  const redis = await connectRedis(options.redisUrl);
  const keys = new Keys(prefix);
  const store = options.makeStore ? options.makeStore(redis, keys) : (new RunStore(redis, keys) as S);
  const queuePrefix = `{${prefix}}`;
  const queues = createQueues(redis, queuePrefix);
  const engine = options.makeEngine ? options.makeEngine(store, queues, options.log) : (new Engine(store, queues, options.log) as E);
  let workerConnection: Redis | null = null;
  const built: BenchEngine<S, E> = {
    redis,
    keys,
    queuePrefix,
    store,
    queues,
    engine,
    workers: null,
    startWorkers(execute, concurrency) {
      if (built.workers) throw new Error("bench: workers already started");
      workerConnection = redis.duplicate();
      built.workers = startWorkers({ connection: workerConnection, prefix: queuePrefix, engine, execute, log: options.log, concurrency });
      return built.workers;
    },
    async stop() {
      await built.workers?.close();
      await engine.flushAcks();
      await queues.close();
      if (workerConnection) await workerConnection.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
    },
  };
  return built;
}
