import { Angle } from "./config.js";
import type { EffectDraft } from "./effect-id.js";
import type { Command, EventOf, Permission, PipelineEvent } from "./events.js";
import { isTerminal, Stage, type Run } from "./run.js";
import {
  applied,
  cancel,
  configOf,
  enterMerge,
  enterReview,
  fixRound,
  PR_STAGES,
  prefixOf,
  reenterStage,
  refused,
  shortSha,
  stageTimers,
  validApprovals,
  WAITING_STAGES,
  type Outcome,
} from "./stages.js";

// What people ask of Conveyor: slash commands and PR reviews. Both count only after a permission
// check (an effect that answers with permission.checked); help and status are open to everyone.

/** Permissions whose holders may run commands and whose approvals count. */
export const AUTHORIZED: readonly Permission[] = ["admin", "maintain", "write"];

/** Applies deferred events in order (injected by `decide`, which owns the event handlers). */
export type Replay = (run: Run, events: readonly PipelineEvent[]) => { run: Run; effects: EffectDraft[]; notes: string[] };

export function helpText(prefix: string): string {
  return [
    "Conveyor commands (comment them on the issue or its pull request):",
    "",
    `- \`${prefix} status\`: refresh the status comment`,
    `- \`${prefix} retry [stage]\`: run the current stage (or the one named: ${Stage.options.join(", ")}) of a parked or failed run again`,
    `- \`${prefix} review [angle…]\`: review the pull request again (angles: ${Angle.options.join(", ")})`,
    `- \`${prefix} fix <instructions>\`: start a fix round with your instructions`,
    `- \`${prefix} pause\` / \`${prefix} resume\`: hold the run, then go on from where it was`,
    `- \`${prefix} cancel\`: stop the run`,
    `- \`${prefix} help\`: this list`,
    "",
    "Everyone may use status and help; the other commands need write access to the repository.",
  ].join("\n");
}

function comment(body: string): EffectDraft {
  return { kind: "comment", body };
}

function react(command: Command, content: "+1" | "confused"): EffectDraft {
  return { kind: "react", commentId: command.commentId, content };
}

/** Backticks would end the code span the untrusted command text is quoted in. */
function quote(text: string): string {
  return `\`${text.replace(/`/g, "'").trim()}\``;
}

/** command.received: help and status need no permission; the rest wait for a permission check. */
export function onCommandReceived(run: Run, event: EventOf<"command.received">): Outcome {
  const { command, login } = event;
  if (event.isBot) return refused(`bots cannot run commands (@${login})`);
  const prefix = prefixOf(run);
  switch (command.name) {
    case "help":
      return applied(run, [comment(helpText(prefix))], `help for @${login}`);
    case "unknown":
      return applied(run, [comment(`Unknown command ${quote(command.text)}.\n\n${helpText(prefix)}`)], `unknown command from @${login}`);
    case "status":
      return applied(run, [react(command, "+1"), { kind: "post-status" }], `status requested by @${login}`);
    default:
      return applied(run, [{ kind: "check-permission", login, subject: { kind: "command", command } }], `checking @${login}'s permission for ${command.name}`);
  }
}

/** permission.checked for a command: refuse politely, or run it and acknowledge. */
export function onCommandPermission(run: Run, event: EventOf<"permission.checked">, command: Command, replay: Replay): Outcome {
  const { login, permission } = event;
  const typed = `${prefixOf(run)} ${command.name}`;
  if (!AUTHORIZED.includes(permission)) {
    const body = `Sorry @${login}, \`${typed}\` needs write access to this repository (yours is ${permission}). \`${prefixOf(run)} status\` and \`${prefixOf(run)} help\` work for everyone.`;
    return applied(run, [react(command, "confused"), comment(body)], `@${login} may not ${command.name} (permission ${permission})`);
  }
  const outcome = runCommand(run, event.at, login, command, replay);
  if (outcome.applied) return { ...outcome, effects: [react(command, "+1"), ...outcome.effects], reason: `${command.name} by @${login}: ${outcome.reason}` };
  const body = `@${login} \`${typed}\` did nothing: ${outcome.reason}.`;
  return applied(run, [react(command, "confused"), comment(body)], `${command.name} by @${login} does not apply: ${outcome.reason}`);
}

/**
 * operator.command: an operator's retry, pause, resume or cancel. Whoever reaches Redis is
 * trusted (no permission check); a refusal is returned as such, for the CLI or dashboard to show.
 */
export function onOperatorCommand(run: Run, event: EventOf<"operator.command">, replay: Replay): Outcome {
  const command: Command = { name: event.command, args: event.args, commentId: 0, text: [event.command, ...event.args].join(" ") };
  const outcome = runCommand(run, event.at, event.operator, command, replay);
  return outcome.applied ? { ...outcome, reason: `${event.command} by operator ${event.operator}: ${outcome.reason}` } : outcome;
}

/** An authorized command; a refusal here becomes a reply saying why. */
function runCommand(run: Run, at: string, login: string, command: Command, replay: Replay): Outcome {
  const prefix = prefixOf(run);
  switch (command.name) {
    case "status":
      return applied(run, [{ kind: "post-status" }], "status");
    case "help":
      return applied(run, [comment(helpText(prefix))], "help");
    case "unknown":
      return applied(run, [comment(`Unknown command ${quote(command.text)}.\n\n${helpText(prefix)}`)], "unknown command");
    case "pause":
      if (run.state !== "active") return refused(`the run is ${run.state}, not active`);
      return applied({ ...run, state: "paused" }, [{ kind: "post-status" }], "active → paused");
    case "resume":
      if (run.state !== "paused") return refused(`the run is ${run.state}, not paused`);
      return resume(run, at, replay);
    case "cancel":
      if (isTerminal(run)) return refused(`the run is already ${run.state}`);
      return cancel(run, `cancelled by @${login}`);
    case "retry":
      return retry(run, at, command.args);
    case "review":
      return review(run, at, command.args);
    case "fix":
      return fix(run, at, command.args);
  }
}

/** paused → active: apply what arrived meanwhile, then re-arm the stage's timers from now. */
function resume(run: Run, at: string, replay: Replay): Outcome {
  const replayed = replay({ ...run, state: "active", deferred: [] }, run.deferred);
  // Timers armed during the replay belong to stage entries in the past; re-armed below.
  const effects = replayed.effects.filter((effect) => effect.kind !== "set-timer" && effect.kind !== "post-status");
  const rearm = replayed.run.state === "active" && WAITING_STAGES.includes(replayed.run.stage);
  const moved = replayed.run.stage !== run.stage;
  const next = rearm || moved ? { ...replayed.run, stageStartedAt: at } : replayed.run;
  const timers = rearm ? stageTimers(next, at) : [];
  // Check reports are not held while paused: read CI again when the run waits for it.
  if (rearm && next.stage === "ci" && next.pr) timers.push({ kind: "evaluate-ci", sha: next.pr.headSha });
  const notes = replayed.notes.length ? `; replayed ${replayed.notes.length} deferred: ${replayed.notes.join("; ")}` : "";
  return applied(next, [...effects, { kind: "post-status" }, ...timers], `paused → ${next.state} in ${next.stage}${notes}`);
}

function retry(run: Run, at: string, args: string[]): Outcome {
  if (run.state !== "needs-human" && run.state !== "failed") {
    const hint = run.state === "paused" ? ` (use ${prefixOf(run)} resume)` : "";
    return refused(`the run is ${run.state}; retry is for parked or failed runs${hint}`);
  }
  const parsed = args[0] === undefined ? Stage.safeParse(run.stage) : Stage.safeParse(args[0]);
  if (!parsed.success) return refused(`"${args[0]}" is not a stage (${Stage.options.join(", ")})`);
  const outcome = reenterStage({ ...run, state: "active", reason: null }, parsed.data, at);
  if (!outcome.applied) return outcome;
  return { ...outcome, reason: `${run.state} → active, retry: ${outcome.reason}` };
}

function review(run: Run, at: string, args: string[]): Outcome {
  if (run.state !== "active") return refused(`the run is ${run.state}, not active`);
  if (!run.pr) return refused("there is no pull request to review yet");
  if (!["review", "ci", "approval"].includes(run.stage)) return refused(`a review cannot start during ${run.stage}`);
  const unknown = args.filter((arg) => !Angle.safeParse(arg).success);
  if (unknown.length) return refused(`unknown angle ${unknown.map(quote).join(", ")} (angles: ${Angle.options.join(", ")})`);
  const angles = args.length ? Angle.options.filter((angle) => args.includes(angle)) : configOf(run).review.angles;
  return enterReview(run, run.pr, at, angles);
}

function fix(run: Run, at: string, args: string[]): Outcome {
  const instructions = args.join(" ").trim();
  if (!instructions) return refused(`say what to fix: ${prefixOf(run)} fix <instructions>`);
  if (run.state !== "active" && run.state !== "needs-human") return refused(`the run is ${run.state}`);
  if (run.stage === "close") return refused("the pull request is merged already");
  if (!run.pr && run.stage !== "implement") return refused(`there is nothing to fix during ${run.stage}`);
  return fixRound(run, { source: "command", summary: instructions, items: [] }, at);
}

/** review.submitted: an approval or change request counts only after a permission check. */
export function onReviewSubmitted(run: Run, event: EventOf<"review.submitted">): Outcome {
  if (event.isBot) return refused(`bots never approve (@${event.login})`);
  if (event.review.state === "commented") return refused(`@${event.login} only commented: nothing to do`);
  if (!run.pr) return refused("the run has no pull request");
  return applied(run, [{ kind: "check-permission", login: event.login, subject: event.review }], `checking @${event.login}'s permission for their review`);
}

/** permission.checked for a review: record an approval (maybe merging) or start a fix round. */
export function onReviewPermission(run: Run, event: EventOf<"permission.checked">): Outcome {
  const { login, subject } = event;
  if (subject.kind !== "review" || subject.state === "commented") return refused(`@${login} only commented: nothing to do`);
  if (!AUTHORIZED.includes(event.permission)) {
    const body = `Thanks for the review, @${login}. It does not count toward Conveyor's approval gate because you do not have write access to this repository.`;
    return applied(run, [{ kind: "comment", body }], `@${login}'s review does not count (permission ${event.permission})`);
  }
  const pr = run.pr;
  if (!pr) return refused("the run has no pull request");
  if (subject.state === "changes_requested") {
    if (!PR_STAGES.includes(run.stage) || (run.state !== "active" && run.state !== "needs-human")) {
      return refused(`changes requested by @${login} while the run is ${run.state} in ${run.stage}: nothing to start`);
    }
    const summary = subject.body.trim() || `changes requested by @${login}`;
    return fixRound(run, { source: "changes-requested", summary, items: subject.comments }, event.at);
  }
  if (subject.sha !== pr.headSha) return refused(`stale approval for ${shortSha(subject.sha)} (head is ${shortSha(pr.headSha)})`);
  if (event.eligible && !event.eligible.ok) {
    const body = `Thanks for the review, @${login}. It does not count toward Conveyor's approval gate: ${event.eligible.why}.`;
    return applied(run, [{ kind: "comment", body }], `@${login}'s approval does not count: ${event.eligible.why}`);
  }
  const approvals = run.approvals.filter((approval) => approval.login !== login && approval.reviewId !== subject.reviewId);
  const next: Run = { ...run, approvals: [...approvals, { login, sha: subject.sha, reviewId: subject.reviewId }] };
  const required = configOf(run).approval.required;
  const valid = validApprovals(next, pr.headSha);
  if (run.stage === "approval" && run.state === "active" && valid >= required) return enterMerge(next, pr, event.at);
  return applied(next, [{ kind: "post-status" }], `approval by @${login} recorded (${valid} of ${required})`);
}
