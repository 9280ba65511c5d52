// quality/debug-leftovers: debugging statements and focused tests left in added lines.
import type { Severity } from "../../pipeline/config.js";
import type { Analyzer } from "../analyzer.js";
import { FindingSet } from "../finding.js";
import { NewFile, basename, isCommentLine, isDocPath, isScriptPath, isTestPath, languageOf, reviewableFiles, type Language } from "../security/support.js";

interface FileFacts {
  path: string;
  test: boolean;
  /** A command-line program, where printing is the point. */
  script: boolean;
  /** Go: the file belongs to package main. */
  goMain: boolean;
}

interface Leftover {
  language: Language;
  pattern: RegExp;
  severity: Severity;
  what: string;
  applies?: (facts: FileFacts) => boolean;
  suggestion: string;
}

const REMOVE = "Remove it before merging.";
const USE_LOGGER = "Remove it, or log through the project's logger at debug level if the output is worth keeping.";

/** Checked in order; the first that matches a line is reported (the stronger ones come first). */
export const LEFTOVERS: readonly Leftover[] = [
  { language: "js", pattern: /(?:^|[\s;{}])debugger\s*(?:;|$)/, severity: "major", what: "`debugger` statement", suggestion: REMOVE },
  {
    language: "js",
    pattern: /\b(?:describe|it|test|context|suite|specify)\.only\s*\(|^\s*(?:fdescribe|fit)\s*\(/,
    severity: "major",
    what: "focused test (`.only`)",
    applies: (facts) => facts.test,
    suggestion: "Remove `.only` (or `f`) so the whole suite runs; consider `--forbid-only`/`allowOnly: false` in CI.",
  },
  { language: "python", pattern: /\b(?:pdb|ipdb|pudb)\.set_trace\s*\(|(?<![\w.])breakpoint\s*\(\s*\)/, severity: "major", what: "debugger breakpoint", suggestion: REMOVE },
  { language: "ruby", pattern: /\bbinding\.(?:pry|irb)\b|(?<![\w.])byebug\b|^\s*debugger\b/, severity: "major", what: "debugger breakpoint", suggestion: REMOVE },
  {
    language: "js",
    pattern: /\bconsole\.(?:log|debug|trace|dir)\s*\(/,
    severity: "minor",
    what: "`console.log` call",
    applies: (facts) => !facts.script,
    suggestion: USE_LOGGER,
  },
  {
    language: "python",
    pattern: /(?<![\w.])print\s*\(/,
    severity: "minor",
    what: "`print` call",
    applies: (facts) => !facts.script,
    suggestion: "Remove it, or use the `logging` module if the output is worth keeping.",
  },
  {
    language: "go",
    pattern: /\bfmt\.Print(?:ln|f)?\s*\(|(?<![\w.])print(?:ln)?\s*\(/,
    severity: "minor",
    what: "print to standard output",
    applies: (facts) => !facts.goMain && !facts.test,
    suggestion: "Remove it, or use the package's logger (`log/slog`) or return the value to the caller.",
  },
];

function factsOf(source: NewFile): FileFacts {
  const path = source.path;
  const lines = source.allLines();
  const goPackage = lines.map(({ text }) => /^package\s+(\w+)/.exec(text)?.[1]).find((name) => name !== undefined);
  return {
    path,
    test: isTestPath(path),
    script: isScriptPath(path) || source.line(1)?.startsWith("#!") === true || lines.some(({ text }) => /^if\s+__name__\s*==\s*["']__main__["']\s*:/.test(text)),
    goMain: goPackage !== undefined ? goPackage === "main" : basename(path) === "main.go" || /(^|\/)cmd\//.test(path),
  };
}

export const debugLeftovers: Analyzer = {
  angle: "quality",
  rule: "quality/debug-leftovers",
  description:
    "Debugging left in added lines: `debugger`, `pdb.set_trace()`/`breakpoint()`, `binding.pry`, focused tests (`it.only`, `describe.only`) (major); `console.log` and Python `print` outside scripts, `fmt.Println` outside package main (minor). Comments and TODOs are not findings.",
  run({ diff, files }) {
    const found = new FindingSet("quality/debug-leftovers");
    for (const file of reviewableFiles(diff)) {
      const language = languageOf(file.path);
      const candidates = LEFTOVERS.filter((leftover) => leftover.language === language);
      if (candidates.length === 0 || isDocPath(file.path)) continue;
      const source = NewFile.of(file, files);
      const facts = factsOf(source);
      const applicable = candidates.filter((leftover) => leftover.applies?.(facts) ?? true);
      for (const { line, text } of source.added()) {
        if (isCommentLine(text, language)) continue;
        const leftover = applicable.find((candidate) => candidate.pattern.test(text));
        if (!leftover) continue;
        found.add(file.path, line, {
          severity: leftover.severity,
          title: `Debug leftover: ${leftover.what}`,
          rationale:
            leftover.severity === "major"
              ? "This stops or narrows execution: a breakpoint halts the program (or CI) when reached, and a focused test silently skips every other test in the file."
              : "Ad-hoc output to the console is noise in production logs, can leak data, and is usually left over from debugging.",
          suggestion: leftover.suggestion,
        });
      }
    }
    return found.findings;
  },
};
