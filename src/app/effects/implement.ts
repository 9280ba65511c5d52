import { DEFAULT_CONFIG, type RepoConfig } from "../../pipeline/config.js";
import type { EffectOf } from "../../pipeline/effects.js";
import type { PipelineEvent } from "../../pipeline/events.js";
import { branchFor, feedbackInput, IMPLEMENT_INPUTS, implementRunName } from "../../pipeline/implementer.js";
import { WaitError } from "../../queue/failures.js";
import { LEDGER } from "./ledger-names.js";
import { PermanentEffectError, repoParams, type GitHubContext } from "./octokit.js";

/** How long GitHub may take to list a workflow run a dispatch created. */
const LISTING_DELAY_MS = Number(process.env.CONVEYOR_DISPATCH_LISTING_DELAY_MS ?? 60_000);

/**
 * A previous attempt of this dispatch wrote its intent and died before it recorded the result:
 * the workflow run it may have created, found by its run name among runs this Conveyor run does
 * not know yet.
 */
async function findDispatchedRun(context: GitHubContext, workflow: string, round: number, intentAt: string): Promise<number | null> {
  const { run, octokit, store, issueKey } = context;
  // Workflow runs this Conveyor run recorded already (earlier rounds, the dispatch before a retry).
  const known = new Set(
    (await store.history(issueKey)).flatMap((entry) => (entry.kind === "event" && entry.event.type === "implement.dispatched" ? [entry.event.workflowRunId] : [])),
  );
  // The newest runs first; created after the intent (minus clock skew between us and GitHub).
  const since = Date.parse(intentAt) - LISTING_DELAY_MS;
  const { data } = await octokit.request("GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", {
    ...repoParams(run),
    workflow_id: workflow,
    event: "workflow_dispatch",
    per_page: 100,
  });
  const name = implementRunName(run.id, round);
  const ids = data.workflow_runs
    .filter((candidate) => candidate.display_title === name && Date.parse(candidate.created_at) >= since)
    .map((candidate) => Number(candidate.id));
  return ids.filter((id) => !known.has(id)).sort((a, b) => b - a)[0] ?? null;
}

/** The branch's head commit, or null when the branch does not exist. */
async function branchHead(context: GitHubContext, branch: string): Promise<string | null> {
  try {
    const { data } = await context.octokit.rest.repos.getBranch({ ...repoParams(context.run), branch });
    return data.commit.sha;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}

function dispatched(effect: EffectOf<"dispatch-implement">, context: GitHubContext, workflowRunId: number): PipelineEvent {
  return { type: "implement.dispatched", at: context.now(), round: effect.round, workflowRunId };
}

/**
 * Dispatches the implementer workflow and answers with the workflow_run_id GitHub returns
 * (`return_run_details`), the key that ties the workflow_run webhook back to this round.
 */
export async function dispatchImplement(effect: EffectOf<"dispatch-implement">, context: GitHubContext): Promise<PipelineEvent> {
  const { run, store, issueKey } = context;
  // Keyed by effect id: a retry of this very effect reuses the dispatch, a new decision
  // (a retry command, the next round) dispatches again.
  const ledgerField = LEDGER.dispatch(effect.id);
  const known = await store.ledgerGet(issueKey, ledgerField);
  if (known) return dispatched(effect, context, Number(known));
  const config = run.config ?? DEFAULT_CONFIG;
  const workflow = config.implement.workflow;
  const intentField = LEDGER.dispatchIntent(effect.id);
  const intent = await store.ledgerGet(issueKey, intentField);
  if (intent) {
    // An earlier attempt got as far as dispatching: it may have died after GitHub took it.
    const adopted = await findDispatchedRun(context, workflow, effect.round, intent);
    if (adopted !== null) {
      await store.ledgerSet(issueKey, ledgerField, String(adopted), { drop: [intentField] });
      context.log.info({ workflowRunId: adopted }, "adopted the workflow run an earlier attempt dispatched");
      return dispatched(effect, context, adopted);
    }
    if (Date.now() - Date.parse(intent) < LISTING_DELAY_MS && !context.lastAttempt) {
      throw new WaitError(`an earlier attempt may have dispatched ${workflow}; waiting for GitHub to list its run`);
    }
  }
  return dispatchOnce(effect, context, config, { ledgerField, intentField, intent });
}

/** The dispatch itself, claimed through its intent field; `intent`: an earlier attempt's, if any. */
async function dispatchOnce(effect: EffectOf<"dispatch-implement">, context: GitHubContext, config: RepoConfig, ledger: { ledgerField: string; intentField: string; intent: string | null }): Promise<PipelineEvent> {
  const { run, octokit, store, issueKey } = context;
  const { ledgerField, intentField, intent } = ledger;
  const workflow = config.implement.workflow;
  const branch = branchFor(run.issue.number, run.issue.title);
  const ref = config.implement.ref ?? (await octokit.rest.repos.get(repoParams(run))).data.default_branch;
  // The intent is the claim: of two executions of this effect (one BullMQ wrongly took for dead),
  // only the one that writes it first dispatches.
  if (intent === null) {
    if (!(await store.ledgerSetNew(issueKey, intentField, context.now()))) throw new WaitError(`another attempt is dispatching ${effect.id}`);
  } else {
    await store.ledgerSet(issueKey, intentField, context.now());
  }
  // The attempt that dispatches records the result and drops its intent in one step, so an
  // attempt that claimed after that (the intent was free again) finds the result here.
  const recorded = await store.ledgerGet(issueKey, ledgerField);
  if (recorded) {
    await store.ledgerDelete(issueKey, [intentField]);
    return dispatched(effect, context, Number(recorded));
  }
  // Where the branch stood before the agent ran: "changed" later means it moved from here. Only
  // the attempt that holds the claim writes it (another may run after the agent pushed). The
  // previous round's base was inspected before this round was decided.
  const previousBase = effect.round > 0 ? [LEDGER.branchBase(run.id, effect.round - 1)] : [];
  await store.ledgerSet(issueKey, LEDGER.branchBase(run.id, effect.round), (await branchHead(context, branch)) ?? "none", { drop: previousBase });
  try {
    const response = await octokit.request("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", {
      ...repoParams(run),
      workflow_id: workflow,
      ref,
      inputs: { run_id: run.id, round: String(effect.round), issue: String(run.issue.number), branch, feedback: feedbackInput(effect.feedback ?? null) },
      return_run_details: true,
    });
    const workflowRunId = Number((response.data as { workflow_run_id?: number } | undefined)?.workflow_run_id ?? 0);
    await store.ledgerSet(issueKey, ledgerField, String(workflowRunId), { drop: [intentField] });
    context.log.info({ workflowRunId, runName: implementRunName(run.id, effect.round) }, `dispatched ${workflow} on ${ref}`);
    return dispatched(effect, context, workflowRunId);
  } catch (error) {
    const status = (error as { status?: number }).status;
    // GitHub refused the dispatch: nothing was created, so there is nothing for a retry to look for.
    // (Should that fail, a leftover intent only costs a retry one lookup; the refusal is what to report.)
    if (status === 404 || status === 422) await store.ledgerDelete(issueKey, [intentField]).catch(() => undefined);
    if (status === 404) {
      throw new PermanentEffectError(
        `the implementer workflow .github/workflows/${workflow} was not found on ${ref}`,
        `add .github/workflows/${workflow} (see docs/implementer.md), then comment ${config.commandPrefix} retry`,
      );
    }
    if (status === 422) {
      throw new PermanentEffectError(
        `GitHub refused to dispatch ${workflow}: ${(error as Error).message}`,
        `make sure ${workflow} has \`on: workflow_dispatch\` with the inputs ${IMPLEMENT_INPUTS.join(", ")} (docs/implementer.md), then ${config.commandPrefix} retry`,
      );
    }
    throw error;
  }
}

/** After a successful implementer run: the agent changed something if the branch moved. */
export async function inspectImplement(effect: EffectOf<"inspect-implement">, context: GitHubContext): Promise<PipelineEvent> {
  const { run, store, issueKey } = context;
  const branch = branchFor(run.issue.number, run.issue.title);
  const head = await branchHead(context, branch);
  const recorded = await store.ledgerGet(issueKey, LEDGER.branchBase(run.id, effect.round));
  // Without a record (ledger lost), compare with the PR head Conveyor last saw.
  const base = recorded === null ? (run.pr?.headSha ?? "none") : recorded;
  const outcome = head !== null && head !== base ? "changed" : "no-changes";
  const detail = head === null ? `branch ${branch} does not exist` : `branch ${branch} is at ${head.slice(0, 7)}`;
  return { type: "implement.finished", at: context.now(), round: effect.round, workflowRunId: effect.workflowRunId, outcome, detail };
}
