import type { Angle } from "../../pipeline/config.js";
import type { Run } from "../../pipeline/run.js";
import type { Finding } from "../../reviews/finding.js";
import type { RoundSummary } from "../../reviews/round.js";
import type { ParsedDiff } from "../../reviews/diff.js";
import { CHECK_NAME, putCheckRun } from "../effects/check-run.js";
import type { GitHubContext } from "../effects/octokit.js";
import { repoParams } from "../effects/octokit.js";
import { angleCheckExternalId, LEDGER } from "../effects/ledger-names.js";

const ANNOTATION_LEVEL = { blocker: "failure", major: "failure", minor: "warning", nit: "notice" } as const;
const ICON = { blocker: "⛔", major: "🔴", minor: "🟡", nit: "⚪" } as const;
/** GitHub takes at most 50 annotations per check run request. */
const ANNOTATIONS_PER_REQUEST = 50;

export function reviewMarker(runId: string, round: number, sha: string): string {
  return `<!-- conveyor:review=${runId}:r${round}:${sha} -->`;
}

function cell(text: string): string {
  return text.replace(/\r?\n+/g, " ").replace(/\|/g, "\\|");
}

function commentBody(finding: Finding): string {
  const from = finding.alsoFrom.length ? ` (also ${finding.alsoFrom.join(", ")})` : "";
  const lines = [`${ICON[finding.severity]} **${finding.severity}** · ${finding.angle}${from} · \`${finding.rule}\``, "", `**${finding.title}**`, "", finding.rationale];
  if (finding.suggestion) lines.push("", `Suggestion: ${finding.suggestion}`);
  return lines.join("\n");
}

/** The review's body: a table per angle, what is new, open and resolved, and what was skipped. */
export function reviewBody(run: Run, round: number, sha: string, summary: RoundSummary, notInline: Finding[]): string {
  const lines = [reviewMarker(run.id, round, sha), `### Conveyor review — round ${round} on \`${sha.slice(0, 7)}\``, "", "| Angle | Result | Blocking | Open |", "| --- | --- | --- | --- |"];
  for (const outcome of summary.outcomes) {
    lines.push(`| ${outcome.angle} | ${outcome.status === "ok" ? "ok" : `failed: ${cell(outcome.error ?? "")}`} | ${outcome.blocking} | ${outcome.total} |`);
  }
  lines.push("", `${summary.fresh.length} new, ${summary.open.length} open, ${summary.resolved.length} resolved since the last round.`);
  if (notInline.length) {
    lines.push("", "Findings outside the diff's lines:");
    for (const finding of notInline) lines.push(`- ${ICON[finding.severity]} \`${finding.path}:${finding.line}\` ${cell(finding.title)} (${finding.angle})`);
  }
  if (summary.resolved.length) {
    lines.push("", "<details><summary>Resolved</summary>", "");
    for (const finding of summary.resolved) lines.push(`- ~~\`${finding.path}:${finding.line}\` ${cell(finding.title)}~~ (${finding.angle})`);
    lines.push("", "</details>");
  }
  if (summary.notes.length) {
    lines.push("", "<details><summary>Notes</summary>", "");
    for (const note of summary.notes) lines.push(`- ${cell(note)}`);
    lines.push("", "</details>");
  }
  return lines.join("\n");
}

/**
 * One PR review (event COMMENT) per round: inline comments for new findings on lines GitHub
 * accepts (lines in the diff), the rest listed in the body. Found again by its marker, so a
 * retried round never posts twice.
 */
export async function publishReview(context: GitHubContext, input: { round: number; sha: string; summary: RoundSummary; diff: ParsedDiff | null }): Promise<void> {
  const { run, octokit, store, issueKey } = context;
  if (!run.pr) return;
  const params = { ...repoParams(run), pull_number: run.pr.number };
  const marker = reviewMarker(run.id, input.round, input.sha);
  const ledgerField = LEDGER.review(run.id, input.round, input.sha);
  if (await store.ledgerGet(issueKey, ledgerField)) return;
  const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { ...params, per_page: 100 });
  const existing = reviews.find((review) => review.body?.includes(marker));
  if (existing) {
    await store.ledgerSet(issueKey, ledgerField, String(existing.id));
    return;
  }
  const commentable = new Map((input.diff?.files ?? []).map((file) => [file.path, file.commentable]));
  const inline = input.summary.fresh.filter((finding) => commentable.get(finding.path)?.has(finding.line));
  const notInline = input.summary.fresh.filter((finding) => !inline.includes(finding));
  const { data } = await octokit.rest.pulls.createReview({
    ...params,
    commit_id: input.sha,
    event: "COMMENT",
    body: reviewBody(run, input.round, input.sha, input.summary, notInline),
    comments: inline.map((finding) => ({ path: finding.path, line: finding.line, side: "RIGHT" as const, body: commentBody(finding) })),
  });
  await store.ledgerSet(issueKey, ledgerField, String(data.id));
}

/** One check run per angle on the head, with an annotation per open finding and a summary table. */
export async function publishAngleChecks(context: GitHubContext, input: { round: number; sha: string; summary: RoundSummary }): Promise<void> {
  const { run, octokit } = context;
  const params = repoParams(run);
  for (const outcome of input.summary.outcomes) {
    const angle: Angle = outcome.angle;
    const name = `${CHECK_NAME} / ${angle}`;
    const findings = input.summary.open.filter((finding) => finding.angle === angle);
    const advisory = run.config?.review.advisory.includes(angle) ?? false;
    const conclusion = outcome.status === "failed" ? "failure" : outcome.blocking > 0 && !advisory ? "failure" : findings.length ? "neutral" : "success";
    const table = ["| Severity | Count |", "| --- | --- |", ...(["blocker", "major", "minor", "nit"] as const).map((severity) => `| ${severity} | ${findings.filter((finding) => finding.severity === severity).length} |`)];
    const summaryText = outcome.status === "failed" ? `The ${angle} review failed: ${outcome.error}` : [`Round ${input.round}: ${findings.length} open finding(s), ${outcome.blocking} blocking${advisory ? " (advisory angle: never blocks)" : ""}.`, "", ...table].join("\n");
    const annotations = findings.map((finding) => ({
      path: finding.path,
      start_line: finding.line,
      end_line: finding.line,
      annotation_level: ANNOTATION_LEVEL[finding.severity],
      title: finding.title.slice(0, 255),
      message: `${finding.rationale}${finding.suggestion ? `\n\nSuggestion: ${finding.suggestion}` : ""}`.slice(0, 64_000),
    }));
    const externalId = angleCheckExternalId(run.id, angle, input.round);
    const output = (batch: typeof annotations) => ({ title: `${angle}: ${findings.length} open, ${outcome.blocking} blocking`, summary: summaryText, annotations: batch });
    const checkRunId = await putCheckRun(context, { name, sha: input.sha, externalId, ledgerField: LEDGER.angleCheck(externalId, input.sha) }, { status: "completed", conclusion, output: output(annotations.slice(0, ANNOTATIONS_PER_REQUEST)) });
    for (let start = ANNOTATIONS_PER_REQUEST; start < annotations.length; start += ANNOTATIONS_PER_REQUEST) {
      await octokit.rest.checks.update({ ...params, check_run_id: checkRunId, output: output(annotations.slice(start, start + ANNOTATIONS_PER_REQUEST)) });
    }
  }
}
