// What the end-to-end scenarios share: a test with a fresh fake GitHub and Conveyor, the agent's
// heads, and small readers over what the fake GitHub saw and what the run's log says.
import { it as base } from "vitest";
import { fakeGitHub, type FakeGitHub } from "../support/github/fake-github.js";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";
import type { Head } from "../support/scenario.js";
import { RUN_ID } from "../support/scenario.js";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import type { LogEntry, Outcome } from "../../src/queue/run-store.js";
import type { IssueKey } from "../../src/queue/keys.js";

/** A test with its own fake GitHub and a Conveyor on the shared Redis, stopped when the test ends. */
export const it = base.extend<{ gh: FakeGitHub; app: TestConveyor }>({
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from this pattern
  gh: async ({}, use) => {
    await use(fakeGitHub());
  },
  // The fake GitHub is in place before the app can call it.
  app: async ({ gh: _gh }, use) => {
    const app = await startTestConveyor();
    await use(app);
    await app.stop();
  },
});

/** Polls `probe` until it returns something truthy. */
export async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A file the agent added, as `pulls/{n}/files` lists it. */
export function added(filename: string, lines: string[]): Head["files"][number] {
  return { filename, status: "added", patch: `@@ -0,0 +1,${lines.length} @@\n${lines.map((line) => `+${line}`).join("\n")}`, content: `${lines.join("\n")}\n` };
}

/** A file the agent changed: the whole file after the change, and the patch of the change. */
export function modified(filename: string, patch: string, lines: string[]): Head["files"][number] {
  return { filename, status: "modified", patch, content: `${lines.join("\n")}\n` };
}

export function sha(seed: string): string {
  return seed.repeat(40).slice(0, 40);
}

export const short = (value: string) => value.slice(0, 7);

/** The test the agent adds with its first implementation of the readme check. */
export const README_TEST = added("test/readme-check.test.ts", ['import { hasReadme } from "../src/readme-check.js";', 'it("finds it", () => expect(hasReadme(["README.md"])).toBe(true));']);

/** Round 0: the agent's first implementation of the readme check, at the sha `sha(seed)`. */
export function readmeCheck(seed: string): Head {
  return {
    sha: sha(seed),
    files: [added("src/readme-check.ts", ["export function hasReadme(files: string[]): boolean {", '  return files.includes("README.md");', "}"]), README_TEST],
  };
}

/** Round 1: the agent's case-insensitive fix (what `compare` lists since round 0, and what the PR's files are now). */
export function readmeCheckFixed(seed: string): Head {
  return {
    sha: sha(seed),
    files: [
      modified(
        "src/readme-check.ts",
        '@@ -1,3 +1,3 @@\n export function hasReadme(files: string[]): boolean {\n-  return files.includes("README.md");\n+  return files.some((file) => file.toLowerCase() === "readme.md");\n }',
        ["export function hasReadme(files: string[]): boolean {", '  return files.some((file) => file.toLowerCase() === "readme.md");', "}"],
      ),
      README_TEST,
    ],
  };
}

const bodyOf = (call: { body: unknown }) => (call.body as { body?: string }).body ?? "";

/** Every body of the sticky status comment, in order (the first post, then each edit). */
export function statusBodies(gh: FakeGitHub, runId = RUN_ID): string[] {
  const marker = `<!-- conveyor:run=${runId} -->`;
  return gh.requests
    .filter((call) => call.operation === "POST /repos/{owner}/{repo}/issues/{issue_number}/comments" || call.operation === "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}")
    .map(bodyOf)
    .filter((body) => body.includes(marker));
}

/** One-off comments (everything but the sticky status comment). */
export function oneOffComments(gh: FakeGitHub, runId = RUN_ID): string[] {
  const marker = `<!-- conveyor:run=${runId} -->`;
  return gh.calls("POST /repos/{owner}/{repo}/issues/{issue_number}/comments").map(bodyOf).filter((body) => !body.includes(marker));
}

export interface DispatchInputs {
  run_id: string;
  round: string;
  issue: string;
  branch: string;
  feedback: string;
}

export function dispatches(gh: FakeGitHub): DispatchInputs[] {
  return gh.calls("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches").map((call) => (call.body as { inputs: DispatchInputs }).inputs);
}

export function reactions(gh: FakeGitHub): { commentId: number; content: string }[] {
  return gh.calls("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions").map((call) => ({ commentId: Number(call.params.comment_id), content: (call.body as { content: string }).content }));
}

export function reviewsPosted(gh: FakeGitHub): { commit_id: string; body: string; event: string; comments: { path: string; line: number; body: string }[] }[] {
  return gh.calls("POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews").map((call) => call.body as never);
}

export function appliedTypes(history: LogEntry[]): string[] {
  return history.flatMap((entry) => (entry.kind === "outcome" && entry.outcome.applied ? [entry.outcome.type] : []));
}

export function outcomes(history: LogEntry[]): Outcome[] {
  return history.flatMap((entry) => (entry.kind === "outcome" ? [entry.outcome] : []));
}

/** The outcome the log recorded for the first logged event that `match`es, waiting for it to be applied. */
export async function outcomeOf(app: TestConveyor, key: IssueKey, match: (event: PipelineEvent, source: string) => boolean, timeoutMs = 10_000): Promise<Outcome> {
  return until(async () => {
    const history = await app.conveyor.engine.store.history(key);
    const event = history.find((entry) => entry.kind === "event" && match(entry.event, entry.source));
    if (!event) return null;
    return outcomes(history).find((outcome) => outcome.of === event.entryId) ?? null;
  }, "the log's outcome of a matching event", timeoutMs);
}

/** Every logged event that `match`es. */
export async function eventsLogged(app: TestConveyor, key: IssueKey, match: (event: PipelineEvent, source: string) => boolean): Promise<PipelineEvent[]> {
  const history = await app.conveyor.engine.store.history(key);
  return history.flatMap((entry) => (entry.kind === "event" && match(entry.event, entry.source) ? [entry.event] : []));
}

/** Matches the events a webhook delivery logged (its delivery id is their source, with `-<n>` when it made several). */
export function fromDelivery(delivery: { id: string }): (event: PipelineEvent, source: string) => boolean {
  return (_event, source) => source === delivery.id || source.startsWith(`${delivery.id}-`);
}
