import { createHash } from "node:crypto";
import { z } from "zod";
import { Angle, Severity } from "../pipeline/config.js";

/** Longest title, and longest rationale or suggestion, a finding may have. */
const TITLE_MAX = 200;
const TEXT_MAX = 2000;

/** What a model may answer with: the structured-output schema (validated again with zod). */
export const ModelFinding = z.object({
  path: z.string().min(1).describe("file path as shown in the diff"),
  line: z.number().int().min(1).describe("line number in the new version of the file"),
  severity: Severity.describe("blocker: must not merge; major: should fix; minor: could fix; nit: style"),
  title: z.string().min(1).max(TITLE_MAX),
  rationale: z.string().min(1).max(TEXT_MAX),
  suggestion: z.string().max(TEXT_MAX).default(""),
});
export type ModelFinding = z.infer<typeof ModelFinding>;

export const ModelFindings = z.object({ findings: z.array(ModelFinding).max(50) });

/** An analyzer's or the model's finding before it is given an id. */
export const FindingDraft = ModelFinding.extend({
  /** Stable name of the check that found it, e.g. `security/secret-in-diff`, `llm`. */
  rule: z.string().min(1),
  /** What the finding's id is made of instead of its line's text (for findings about a file, not a line). */
  anchor: z.string().optional(),
});
export type FindingDraft = z.infer<typeof FindingDraft>;

export const Finding = FindingDraft.omit({ anchor: true }).extend({
  id: z.string(),
  angle: Angle,
  /** Other angles that reported the same problem (merged duplicates). */
  alsoFrom: z.array(Angle).default([]),
  source: z.enum(["analyzer", "model"]),
  /** The text of the line the finding is on (what its id is made of). */
  snippet: z.string().default(""),
});
export type Finding = z.infer<typeof Finding>;

export const SEVERITY_RANK: Record<Severity, number> = { nit: 0, minor: 1, major: 2, blocker: 3 };

export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold];
}

/** What an analyzer reports about a line; the rule, path and line are the `FindingSet`'s and `add`'s. */
export interface FindingText {
  severity: Severity;
  title: string;
  rationale: string;
  suggestion: string;
  /** What the id is made of instead of the line text (findings about a whole change). */
  anchor?: string;
}

/**
 * What a report of a (path, line) the set already holds does. `keep-first` drops it: the first
 * report says what matters. `merge` folds it into the first (one import breaking two layer rules,
 * two dependencies added on one manifest line), so a line still gets one finding, and so one id,
 * but nothing reported about it is lost.
 */
export type RepeatedLine = "keep-first" | "merge";

/**
 * One analyzer's findings, in the order their lines were first reported, at most one per
 * (path, line): the rule is named once, here, and every finding of the set carries it.
 */
export class FindingSet {
  private readonly byLine = new Map<string, FindingDraft>();
  private readonly repeats: RepeatedLine;

  constructor(
    private readonly rule: string,
    { repeats = "keep-first" }: { repeats?: RepeatedLine } = {},
  ) {
    this.repeats = repeats;
  }

  get findings(): FindingDraft[] {
    return [...this.byLine.values()];
  }

  add(path: string, line: number, text: FindingText): void {
    const key = `${path}\u0000${line}`;
    const first = this.byLine.get(key);
    if (!first) this.byLine.set(key, { rule: this.rule, path, line, ...text });
    else if (this.repeats === "merge") mergeInto(first, text);
  }
}

/**
 * The higher severity wins; a text is joined to the finding's so far unless it is empty or the
 * same, and the result is cut to the schema's limits; the first report's anchor stays.
 */
function mergeInto(finding: FindingDraft, text: FindingText): void {
  if (SEVERITY_RANK[text.severity] > SEVERITY_RANK[finding.severity]) finding.severity = text.severity;
  finding.title = joinText(finding.title, text.title, "; ").slice(0, TITLE_MAX);
  finding.rationale = joinText(finding.rationale, text.rationale, "\n\n").slice(0, TEXT_MAX);
  finding.suggestion = joinText(finding.suggestion, text.suggestion, "\n").slice(0, TEXT_MAX);
}

/** `a` and `b` joined by `separator`, or just one of them when they are the same or the other is empty. */
function joinText(a: string, b: string, separator: string): string {
  if (a === b || !b) return a;
  return a ? `${a}${separator}${b}` : b;
}

/** Whitespace-insensitive text of a line: what makes a finding "the same" after lines move. */
export function normaliseLine(text: string): string {
  return text.trim().replace(/\s+/g, " ");
}

/**
 * A finding's id depends on the angle, the rule, the path and the normalised text of its line,
 * never on the line number, so a finding that still stands after a fix round keeps its id.
 */
export function findingId(angle: Angle, rule: string, path: string, lineText: string): string {
  return createHash("sha256").update([angle, rule, path, normaliseLine(lineText)].join("\u0000")).digest("hex").slice(0, 16);
}
