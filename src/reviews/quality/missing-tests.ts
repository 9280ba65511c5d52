// quality/missing-tests: the change adds or edits source code but touches no test.
import type { Analyzer } from "../analyzer.js";
import type { DiffFile } from "../diff.js";
import { FindingSet } from "../finding.js";
import { isCommentLine, isTestPath, languageOf, reviewableFiles } from "../security/support.js";
import { isSourcePath } from "./paths.js";

/** Whether a file's added lines hold code (not only blank lines and comments). */
function addsCode(file: DiffFile): boolean {
  const language = languageOf(file.path);
  return file.added.some(({ text }) => text.trim() !== "" && !isCommentLine(text, language));
}

export const missingTests: Analyzer = {
  angle: "quality",
  rule: "quality/missing-tests",
  description:
    "Source code changed while no test file changed (tests: test/, tests/, __tests__/, spec/, *.test.*, *.spec.*, *_test.go, test_*.py); one finding per change set, on the first changed source file's first added line (minor). Docs, configuration and lockfiles are ignored.",
  run({ diff }) {
    const found = new FindingSet("quality/missing-tests");
    if (diff.files.some((file) => file.status !== "deleted" && isTestPath(file.path))) return [];
    const first = reviewableFiles(diff).find((file) => isSourcePath(file.path) && addsCode(file));
    if (!first) return [];
    found.add(first.path, first.added[0]!.line, {
      severity: "minor",
      title: "Source changed without test changes",
      rationale:
        "This change edits source code but adds or updates no test, so nothing shows that the new behaviour works or keeps working, and reviewers have to verify it by reading alone.",
      suggestion: "Add or update tests that exercise the changed behaviour (including an edge case or failure path), or say in the pull request why existing tests already cover it.",
      // About the change set, not a line: the id must not change when lines move.
      anchor: "source changed without tests",
    });
    return found.findings;
  },
};
