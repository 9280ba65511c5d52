// quality/oversized-function and quality/oversized-file: large units written by the change.
import type { Analyzer } from "../analyzer.js";
import { FindingSet } from "../finding.js";
import { NewFile, languageOf, reviewableFiles, splitLines } from "../security/support.js";
import { findFunctions, type FunctionSpan } from "./functions.js";
import { isCodePath, isSourcePath } from "./paths.js";

/** A function that gains more added lines than this is reported. */
export const MAX_FUNCTION_LINES = 80;
/** A new source file longer than this is reported. */
export const MAX_NEW_FILE_LINES = 500;

export const oversizedFunction: Analyzer = {
  angle: "quality",
  rule: "quality/oversized-function",
  description: `Functions (JavaScript/TypeScript, Python, Go) with more than ${MAX_FUNCTION_LINES} lines added by the change, reported once on the outermost such function (minor).`,
  run({ diff, files }) {
    const found = new FindingSet("quality/oversized-function");
    for (const file of reviewableFiles(diff)) {
      const language = languageOf(file.path);
      if (!isCodePath(file.path)) continue;
      const source = NewFile.of(file, files);
      const spans = source.segments().flatMap((segment) => findFunctions(segment, language));
      const added = [...source.addedLines].sort((a, b) => a - b);
      const addedWithin = (span: FunctionSpan) => added.filter((line) => line >= span.start && line <= span.end);
      let reportedUntil = 0;
      for (const span of spans.sort((a, b) => a.start - b.start || b.end - a.end)) {
        if (span.start <= reportedUntil) continue;
        const lines = addedWithin(span);
        if (lines.length <= MAX_FUNCTION_LINES) continue;
        reportedUntil = span.end;
        const anchor = source.addedLines.has(span.start) ? span.start : lines[0]!;
        found.add(file.path, anchor, {
          severity: "minor",
          title: `Function \`${span.name}\` is ${span.end - span.start + 1} lines long`,
          rationale: `This change adds ${lines.length} lines to one function (the limit is ${MAX_FUNCTION_LINES}). Long functions mix several responsibilities, are hard to review and test in isolation, and tend to grow further.`,
          suggestion: "Split it into smaller functions named after each step (parsing, validation, the core logic, formatting), each testable on its own.",
        });
      }
    }
    return found.findings;
  },
};

export const oversizedFile: Analyzer = {
  angle: "quality",
  rule: "quality/oversized-file",
  description: `New source files longer than ${MAX_NEW_FILE_LINES} lines, reported on their first line (minor).`,
  run({ diff, files }) {
    const found = new FindingSet("quality/oversized-file");
    for (const file of reviewableFiles(diff)) {
      if (file.status !== "added" || !isSourcePath(file.path) || file.added.length === 0) continue;
      const content = files.get(file.path);
      const length = Math.max(file.added.length, content === undefined ? 0 : splitLines(content).length);
      if (length <= MAX_NEW_FILE_LINES) continue;
      found.add(file.path, file.added[0]!.line, {
        severity: "minor",
        title: `New file has ${length} lines`,
        rationale: `This file is added with ${length} lines (the limit is ${MAX_NEW_FILE_LINES}). A module that large usually holds several concerns, which makes it hard to review now and to change later.`,
        suggestion: "Split it by responsibility into smaller modules with narrow exports.",
      });
    }
    return found.findings;
  },
};
