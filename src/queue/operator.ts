import { randomUUID } from "node:crypto";
import type { OperatorCommandName, PipelineEvent } from "../pipeline/events.js";
import { isTerminal, type Run } from "../pipeline/run.js";
import type { Engine } from "./engine.js";
import type { IssueKey } from "./keys.js";

export type OperatorResult =
  | { status: "applied"; reason: string; run: Run | null; entryId: string }
  | { status: "refused"; reason: string; run: Run | null; entryId: string | null }
  | { status: "pending"; reason: string; run: Run | null; entryId: string };

/**
 * An operator's retry, pause, resume or cancel (CLI, dashboard): logged as `operator.command`
 * and applied at once, so the answer is `decide`'s own decision; its effects go to the workers.
 */
export async function submitOperatorCommand(
  engine: Engine,
  key: IssueKey,
  run: Run,
  request: { command: OperatorCommandName; args: string[]; operator: string; at?: string },
): Promise<OperatorResult> {
  const event: PipelineEvent = { type: "operator.command", at: request.at ?? new Date().toISOString(), operator: request.operator, command: request.command, args: request.args };
  // A failed run is terminal yet takes retry: the append must not require a live run then.
  const submitted = await engine.submit(key, event, { source: `operator-${randomUUID()}`, requiresRun: run.state !== "failed" });
  if (submitted.status !== "appended") return { status: "refused", reason: `the run is ${run.state}`, run, entryId: null };
  await engine.apply(key);
  const history = await engine.store.history(key);
  const outcome = history.flatMap((entry) => (entry.kind === "outcome" && entry.outcome.of === submitted.entryId ? [entry.outcome] : []))[0];
  const after = (await engine.store.load(key)).run;
  // A refused retry of a failed run leaves it failed: it is no live run for the sweep.
  if (after && isTerminal(after) && run.state === "failed") await engine.store.untrack(key);
  if (!outcome) return { status: "pending", reason: "logged; a worker will apply it", run: after, entryId: submitted.entryId };
  const reason = outcome.reason.replace(/^operator\.command: /, "");
  return { status: outcome.applied ? "applied" : "refused", reason, run: after, entryId: submitted.entryId };
}
