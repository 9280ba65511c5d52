// Small readers over what the fake GitHub saw and what the run's log says, shared by the
// end-to-end scenarios.
import type { FakeGitHub } from "../support/github/fake-github.js";
import type { TestConveyor } from "../support/conveyor.js";
import type { Head } from "../support/scenario.js";
import { RUN_ID } from "../support/scenario.js";
import type { PipelineEvent } from "../../src/pipeline/events.js";
import type { LogEntry, Outcome } from "../../src/queue/run-store.js";
import type { IssueKey } from "../../src/queue/keys.js";

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
