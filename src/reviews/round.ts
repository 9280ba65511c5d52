import type { Angle, RepoConfig } from "../pipeline/config.js";
import type { AngleOutcome } from "../pipeline/run.js";
import { atLeast, normaliseLine, SEVERITY_RANK, type Finding } from "./finding.js";

/** What one angle's child job returns to the round. */
export type AngleResult =
  | { angle: Angle; status: "ok"; findings: Finding[]; notes: string[]; tokens: number; mode: "full" | "incremental"; reviewedPaths: string[] }
  | { angle: Angle; status: "failed"; error: string; tokens: number };

export interface RoundSummary {
  /** Every open finding after this round, duplicates across angles merged. */
  open: Finding[];
  /** Open findings not reported in an earlier round: the ones that get inline comments. */
  fresh: Finding[];
  /** Findings of earlier rounds that are gone. */
  resolved: Finding[];
  outcomes: AngleOutcome[];
  /** Blocking findings, one line each: the implementer's feedback for a fix round. */
  blocking: string[];
  tokens: number;
  notes: string[];
}

const words = (text: string) => new Set(text.toLowerCase().split(/\W+/).filter((word) => word.length > 2));

function similar(a: Finding, b: Finding): boolean {
  if (a.rule === b.rule) return true;
  const left = words(a.title);
  const right = words(b.title);
  const shared = [...left].filter((word) => right.has(word)).length;
  return shared / Math.max(1, new Set([...left, ...right]).size) >= 0.5;
}

/**
 * Merges duplicates across angles: the same path, the same line text and the same rule or a
 * similar title are one problem, reported once. The report of a blocking (non-advisory) angle
 * leads, most severe first, so an advisory angle can never swallow a blocking finding; the other
 * angles are listed as alsoFrom.
 */
export function mergeAcrossAngles(findings: readonly Finding[], advisory: readonly Angle[] = []): Finding[] {
  const rank = (finding: Finding) => (advisory.includes(finding.angle) ? 0 : 10) + SEVERITY_RANK[finding.severity];
  const merged: Finding[] = [];
  for (const finding of [...findings].sort((a, b) => rank(b) - rank(a))) {
    const twin = merged.find(
      (kept) => kept.angle !== finding.angle && kept.path === finding.path && normaliseLine(kept.snippet) === normaliseLine(finding.snippet) && similar(kept, finding),
    );
    if (twin) {
      if (!twin.alsoFrom.includes(finding.angle)) twin.alsoFrom.push(finding.angle);
    } else {
      merged.push({ ...finding, alsoFrom: [...finding.alsoFrom] });
    }
  }
  return merged;
}

/** At or above the blocking severity. Whether an advisory angle's findings count is decide's call (the gate). */
function severe(finding: Finding, config: RepoConfig): boolean {
  return atLeast(finding.severity, config.review.blockOn);
}

/**
 * The round's verdict from the angles' results and the findings still open from earlier rounds.
 * In an incremental review, earlier findings on files the new commits did not touch stay open;
 * on files they touched, a finding that is not found again is resolved.
 */
export function summariseRound(input: {
  results: readonly AngleResult[];
  earlier: readonly Finding[];
  config: RepoConfig;
}): RoundSummary {
  const { results, earlier, config } = input;
  const notes: string[] = [];
  const current: Finding[] = [];
  const failedAngles = new Set<Angle>();
  for (const result of results) {
    if (result.status === "failed") {
      failedAngles.add(result.angle);
      notes.push(`${result.angle} review failed: ${result.error}`);
      continue;
    }
    current.push(...result.findings);
    notes.push(...result.notes.map((note) => `${result.angle}: ${note}`));
  }
  const reviewed = new Set(results.flatMap((result) => (result.status === "ok" && result.mode === "incremental" ? result.reviewedPaths : [])));
  const incremental = results.some((result) => result.status === "ok" && result.mode === "incremental");
  const ran = new Set(results.map((result) => result.angle));
  const currentIds = new Set(current.map((finding) => finding.id));
  const carried: Finding[] = [];
  const resolved: Finding[] = [];
  for (const finding of earlier) {
    if (currentIds.has(finding.id)) continue;
    // An angle that did not run or failed proves nothing: its earlier findings stay open.
    if (!ran.has(finding.angle) || failedAngles.has(finding.angle) || (incremental && !reviewed.has(finding.path))) carried.push(finding);
    else resolved.push(finding);
  }
  const earlierIds = new Set(earlier.map((finding) => finding.id));
  const open = mergeAcrossAngles([...current, ...carried], config.review.advisory);
  const fresh = open.filter((finding) => !earlierIds.has(finding.id));
  // One outcome per angle that ran, and per angle whose earlier findings are still open: the
  // gate counts every open blocker, including those carried from an angle that failed or did not run.
  const angles = [...new Set([...results.map((result) => result.angle), ...open.map((finding) => finding.angle)])];
  const outcomes: AngleOutcome[] = angles.map((angle) => {
    const result = results.find((candidate) => candidate.angle === angle);
    const mine = open.filter((finding) => finding.angle === angle);
    const counts = { blocking: mine.filter((finding) => severe(finding, config)).length, total: mine.length };
    return result?.status === "failed" ? { angle, status: "failed", ...counts, error: result.error } : { angle, status: "ok", ...counts };
  });
  const blocking = open
    .filter((finding) => severe(finding, config) && !config.review.advisory.includes(finding.angle)).map((finding) => `${finding.path}:${finding.line} [${finding.severity}] ${finding.title} — ${finding.suggestion || finding.rationale}`);
  const tokens = results.reduce((sum, result) => sum + result.tokens, 0);
  return { open, fresh, resolved, outcomes, blocking, tokens, notes };
}
