import { WaitError } from "../../queue/failures.js";
import type { GitHubContext } from "./octokit.js";
import { repoParams } from "./octokit.js";

/**
 * Creates a comment once, or edits it when it exists. The comment id goes to the run's ledger;
 * if the ledger is lost, the hidden marker in the body finds the comment on GitHub, so a retry
 * never posts a second one.
 */
export async function upsertMarkedComment(context: GitHubContext, options: { ledgerField: string; marker: string; body: string; edit: boolean }): Promise<number> {
  const { store, issueKey } = context;
  const known = Number((await store.ledgerGet(issueKey, options.ledgerField)) ?? 0);
  if (known) return write(context, known, options);
  // Two status updates of one run may run at once; only one of them may create the comment.
  if (!(await store.claim(issueKey, options.ledgerField, options.marker, 30_000))) {
    throw new WaitError(`another job is creating the comment ${options.ledgerField}; trying again shortly`);
  }
  try {
    return await write(context, (await findMarkedComment(context, options.marker)) ?? null, options);
  } finally {
    await store.release(issueKey, options.ledgerField);
  }
}

async function write(context: GitHubContext, commentId: number | null, options: { ledgerField: string; body: string; edit: boolean }): Promise<number> {
  const { octokit, run, store, issueKey } = context;
  if (commentId === null) {
    const { data } = await octokit.rest.issues.createComment({ ...repoParams(run), issue_number: run.issue.number, body: options.body });
    commentId = data.id;
  } else if (options.edit) {
    try {
      await octokit.rest.issues.updateComment({ ...repoParams(run), comment_id: commentId, body: options.body });
    } catch (error) {
      // Someone deleted the comment: the run still needs its status, so post it anew.
      if ((error as { status?: number }).status !== 404) throw error;
      const { data } = await octokit.rest.issues.createComment({ ...repoParams(run), issue_number: run.issue.number, body: options.body });
      commentId = data.id;
    }
  }
  await store.ledgerSet(issueKey, options.ledgerField, String(commentId));
  return commentId;
}

async function findMarkedComment(context: GitHubContext, marker: string): Promise<number | undefined> {
  const { octokit, run } = context;
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...repoParams(run), issue_number: run.issue.number, per_page: 100 });
  return comments.find((comment) => comment.body?.includes(marker))?.id;
}
