import type { ParsedDiff } from "./diff.js";

/** What a review looks at. The GitHub source reads a PR; the local source reads a diff or git range. */
export interface ReviewContext {
  diff: ParsedDiff;
  /** New contents of changed files (and files they import, for the architecture angle). */
  files: ReadonlyMap<string, string>;
  /** `incremental`: only the commits since the last reviewed head; `full`: the whole PR. */
  mode: "full" | "incremental";
  notes: string[];
}

export interface ReviewSource {
  load(): Promise<ReviewContext>;
}
