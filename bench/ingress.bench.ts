// Ingress: signed webhook deliveries over loopback into the running app, until the event is
// stored in the issue's log and its apply job is enqueued (the HTTP answer comes after both),
// against a bare Probot app with a no-op handler, measured in the same run.
import { Probot, Server } from "probot";
import { startConveyor } from "../src/main.js";
import { startRedisServer, freePort } from "../test/support/redis-server.js";
import { signedRequest, webhook } from "../test/support/github/webhooks.js";
import { appCredentials, appEnv } from "../test/support/app-env.js";
import { silent } from "./lib/app-env.js";
import { sendLoad, type LoadStats } from "./lib/load.js";
import { round, type BenchResult } from "./lib/result.js";

const TOTAL = Number(process.env.BENCH_INGRESS_REQUESTS ?? 4000);
const CONCURRENCY = 32;
const REPEATS = 3;

export default async function ingress(): Promise<BenchResult> {
  const redis = await startRedisServer();
  const credentials = appCredentials();

  const barePort = await freePort();
  const bare = new Server({
    Probot: Probot.defaults({ appId: credentials.appId, privateKey: credentials.privateKey, secret: credentials.secret, log: silent }),
    port: barePort,
    host: "127.0.0.1",
    log: silent,
  });
  await bare.load((app) => {
    app.on("issues", async () => {});
  });
  await bare.start();

  const { env, port } = await appEnv(redis.url, credentials);
  const conveyor = await startConveyor("web", { env, log: silent });

  // Distinct issues, so every delivery creates a new run's log entry: the full write path.
  // Requests are built and signed before timing so the load generator measures only the server.
  const template = webhook("issues", "labeled", { label: { name: "conveyor" }, repository: { id: 4242 } });
  let issue = 0;
  const prepare = (count: number) =>
    Array.from({ length: count }, () => {
      issue++;
      const payload = { ...template.payload, issue: { ...template.payload.issue, number: issue } };
      return signedRequest(credentials.secret, { name: "issues", id: `bench-${issue}`, payload }) as RequestInit;
    });
  const load = (url: string, count: number) => {
    const requests = prepare(count);
    return sendLoad(url, count, CONCURRENCY, (i) => requests[i]!);
  };
  const path = "/api/github/webhooks";
  const bareUrl = `http://127.0.0.1:${barePort}${path}`;
  const conveyorUrl = `http://127.0.0.1:${port}${path}`;

  await load(bareUrl, 300);
  await load(conveyorUrl, 300);
  const runs: { bare: LoadStats; conveyor: LoadStats }[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const bareStats = await load(bareUrl, TOTAL);
    const conveyorStats = await load(conveyorUrl, TOTAL);
    runs.push({ bare: bareStats, conveyor: conveyorStats });
  }
  const stored = await conveyor.engine.store.activeIssues(1_000_000);
  const waiting = await conveyor.engine.queues.events.getWaitingCount();

  await conveyor.stop();
  await bare.stop();
  redis.process.kill("SIGKILL");

  const median = (pick: (run: { bare: LoadStats; conveyor: LoadStats }) => LoadStats) =>
    runs.map(pick).sort((a, b) => a.perSecond - b.perSecond)[Math.floor(runs.length / 2)]!;
  const bareMedian = median((run) => run.bare);
  const conveyorMedian = median((run) => run.conveyor);
  const failures = runs.reduce((sum, run) => sum + run.bare.failures + run.conveyor.failures, 0);
  if (failures > 0) throw new Error(`bench ingress: ${failures} deliveries were not answered with 2xx`);
  return {
    benchmark: "ingress",
    ratio: round(conveyorMedian.perSecond / bareMedian.perSecond, 3),
    goal: 0.7,
    better: "higher",
    unit: "× bare Probot throughput",
    rows: [
      { subject: "bare Probot (no-op handler)", ...bareMedian },
      { subject: "Conveyor ingress (stored + enqueued)", ...conveyorMedian },
    ],
    details: { concurrency: CONCURRENCY, repeats: REPEATS, runsStored: stored.length, applyJobsWaiting: waiting, allRuns: runs },
  };
}
