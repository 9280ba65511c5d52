import { ProbotOctokit } from "probot";
import { pino } from "pino";
import { inject } from "vitest";
import { startConveyor, type Conveyor, type Role } from "../../src/main.js";
import type { IssueKey } from "../../src/queue/keys.js";
import type { Run } from "../../src/pipeline/run.js";
import { appCredentials, appEnv } from "./app-env.js";
import { signedRequest } from "./github/webhooks.js";

/** Probot's test setup with retries and throttling really off (the function form; see DESIGN §7). */
export const TestOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { enabled: false },
}));

export interface TestConveyor {
  conveyor: Conveyor;
  url: string;
  secret: string;
  /** Posts a signed delivery to the webhook endpoint, as GitHub does. */
  deliver(event: { name: string; id: string; payload: unknown }): Promise<Response>;
  /** Waits until the issue's run satisfies `predicate` (polls the store). */
  waitForRun(key: IssueKey, predicate: (run: Run) => boolean, timeoutMs?: number): Promise<Run>;
  /** Waits until no apply, effect or timer job is waiting or running. */
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestConveyor(role: Role = "start", extra: Record<string, string> = {}): Promise<TestConveyor> {
  const { env, url, credentials } = await appEnv(inject("redisUrl"), appCredentials(), extra);
  const conveyor = await startConveyor(role, { env, log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }), Octokit: TestOctokit });
  const { store, queues } = conveyor.engine;
  return {
    conveyor,
    url,
    secret: credentials.secret,
    deliver: (event) => fetch(`${url}/api/github/webhooks`, signedRequest(credentials.secret, event) as RequestInit),
    async waitForRun(key, predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Run | null = null;
      while (Date.now() < deadline) {
        last = (await store.load(key)).run;
        if (last && predicate(last)) return last;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`run of ${key} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last && { stage: last.stage, state: last.state, reason: last.reason })}`);
    },
    async settle(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const counts = await Promise.all([queues.events, queues.effects].map((queue) => queue.getJobCounts("waiting", "active", "prioritized")));
        if (counts.every((count) => Object.values(count).every((n) => n === 0))) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`queues did not settle in ${timeoutMs} ms`);
    },
    stop: () => conveyor.stop(),
  };
}
