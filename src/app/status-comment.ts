import type { Run, Stage } from "../pipeline/run.js";

/** The hidden marker that lets Conveyor find its comment again when its own records are gone. */
export function runMarker(runId: string): string {
  return `<!-- conveyor:run=${runId} -->`;
}

/** Text inside a table cell or a quoted line: no line breaks, no column separators. */
function inline(text: string): string {
  return text.replace(/\r?\n+/g, " ").replace(/\|/g, "\\|");
}

const STAGES: readonly Stage[] = ["intake", "implement", "review", "ci", "approval", "merge", "close"];

const STATE_LABEL: Record<Run["state"], string> = {
  active: "🟢 running",
  paused: "⏸️ paused",
  "needs-human": "🙋 needs a human",
  done: "✅ done",
  cancelled: "⛔ cancelled",
  failed: "❌ failed",
};

function stageLine(run: Run): string {
  const current = STAGES.indexOf(run.stage);
  return STAGES.map((stage, index) => {
    if (run.state === "done" || index < current) return `~~${stage}~~`;
    if (index === current) return `**${stage}**`;
    return stage;
  }).join(" → ");
}

/** The sticky status comment, rendered from the run as stored. Edited in place as the run moves. */
export function renderStatusComment(run: Run): string {
  const lines = [
    runMarker(run.id),
    `### Conveyor run \`${run.id}\` — ${STATE_LABEL[run.state]}`,
    "",
    stageLine(run),
    "",
    "| | |",
    "| --- | --- |",
    `| Stage | ${run.stage} |`,
    `| Fix round | ${run.round}${run.config ? ` of ${run.config.limits.maxFixRounds}` : ""} |`,
    `| Pull request | ${run.pr ? `#${run.pr.number} (\`${run.pr.headSha.slice(0, 7)}\`)` : "—"} |`,
    `| Tokens | ${run.tokens.toLocaleString("en-US")}${run.config ? ` of ${run.config.limits.tokenBudget.toLocaleString("en-US")}` : ""} |`,
    `| Started by | @${run.startedBy} |`,
    `| Updated | ${run.updatedAt} |`,
  ];
  if (run.reviews.length > 0) {
    lines.push("", "**Reviews**", "", "| Angle | Result | Blocking | Findings |", "| --- | --- | --- | --- |");
    for (const review of run.reviews) {
      lines.push(`| ${review.angle} | ${review.status === "ok" ? "ok" : `failed: ${inline(review.error ?? "unknown")}`} | ${review.blocking} | ${review.total} |`);
    }
  }
  if (run.reason) {
    lines.push("", `> **${run.state === "active" ? "Note" : "Why"}:** ${inline(run.reason.what)}`, `> **Next:** ${inline(run.reason.next)}`);
  }
  if (run.rounds.length > 1) {
    lines.push("", "<details><summary>Rounds</summary>", "");
    for (const round of run.rounds) lines.push(`- round ${round.round} (${round.reason}): ${round.summary}`);
    lines.push("", "</details>");
  }
  const prefix = run.config?.commandPrefix ?? "/conveyor";
  lines.push("", `<sub>Commands: \`${prefix} status\`, \`${prefix} pause\`, \`${prefix} resume\`, \`${prefix} retry\`, \`${prefix} cancel\`, \`${prefix} help\`</sub>`);
  return lines.join("\n");
}
