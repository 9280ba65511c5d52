import { createHash } from "node:crypto";
import { z } from "zod";
import { Angle, Severity } from "../pipeline/config.js";

/** What a model may answer with: the structured-output schema (validated again with zod). */
export const ModelFinding = z.object({
  path: z.string().min(1).describe("file path as shown in the diff"),
  line: z.number().int().min(1).describe("line number in the new version of the file"),
  severity: Severity.describe("blocker: must not merge; major: should fix; minor: could fix; nit: style"),
  title: z.string().min(1).max(200),
  rationale: z.string().min(1).max(2000),
  suggestion: z.string().max(2000).default(""),
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
