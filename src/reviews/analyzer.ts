import type { Angle, RepoConfig } from "../pipeline/config.js";
import type { ParsedDiff } from "./diff.js";
import type { FindingDraft } from "./finding.js";

/** What a deterministic analyzer sees: the diff, the new contents of changed files, the config. */
export interface AnalyzerInput {
  diff: ParsedDiff;
  /** Full new content of changed (not deleted, not binary) files, when the source could fetch it. */
  files: ReadonlyMap<string, string>;
  config: RepoConfig;
}

/**
 * One deterministic check of one angle. Pure: no I/O, so it runs the same on GitHub and on a
 * local diff (`conveyor review`). `rule` is stable: it is part of every finding's id.
 */
export interface Analyzer {
  angle: Angle;
  rule: string;
  description: string;
  run(input: AnalyzerInput): FindingDraft[];
}
