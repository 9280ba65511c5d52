import type { Angle } from "../../pipeline/config.js";

/** A head sha in a ledger name: 12 hex digits tell one run's heads apart, and a parked run keeps six such names. */
const head = (sha: string) => sha.slice(0, 12);

/**
 * The names of the ledger fields where effects record what they created on GitHub (see
 * RunStore.ledgerSet), all in one place: the effects that write them and the parked-runs
 * benchmark, which writes what a parked run holds, cannot disagree. A name that changes only
 * costs a retried effect one lookup on GitHub (marker, external_id): the ledger is a cache of it.
 */
export const LEDGER = {
  /** The sticky status comment's id. */
  statusComment: (runId: string) => `status-comment:${runId}`,
  /** A one-off comment's id. */
  comment: (effectId: string) => `comment:${effectId}`,
  /** The closing summary comment's id. */
  summaryComment: (runId: string) => `summary-comment:${runId}`,
  /** The Conveyor check run on a PR head. */
  checkRun: (runId: string, sha: string) => `check-run:${runId}:${head(sha)}`,
  /** An angle's review check run on a PR head, by its `external_id` (angleCheckExternalId). */
  angleCheck: (externalId: string, sha: string) => `check:${externalId}:${head(sha)}`,
  /** The PR review a round posted on a head. */
  review: (runId: string, round: number, sha: string) => `review:${runId}:${round}:${head(sha)}`,
  /** The workflow run a dispatch created (kept: a stale retry of this very effect must find it). */
  dispatch: (effectId: string) => `dispatch:${effectId}`,
  /** A dispatch's claim and start time, until its result is recorded. */
  dispatchIntent: (effectId: string) => `dispatch-intent:${effectId}`,
  /** Where the branch stood before a round's implementer ran. */
  branchBase: (runId: string, round: number) => `branch-base:${runId}:${round}`,
  /** The run's open review findings (JSON), carried into the next round. */
  findings: (runId: string) => `findings:${runId}`,
  /** The head the last review round read. */
  reviewedSha: (runId: string) => `reviewed-sha:${runId}`,
};

/** An angle's check run's `external_id` on GitHub: how a retry finds it when the ledger is gone. */
export function angleCheckExternalId(runId: string, angle: Angle, round: number): string {
  return `${runId}:${angle}:${round}`;
}
