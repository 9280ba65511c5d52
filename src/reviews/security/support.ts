// Helpers shared by the deterministic analyzers of the security and quality angles: which files
// to look at, what language a path is, and how to read the new file around an added line.
import type { DiffFile, DiffLine, ParsedDiff } from "../diff.js";

/** Files an analyzer reports on: present after the change and textual. */
export function reviewableFiles(diff: ParsedDiff): DiffFile[] {
  return diff.files.filter((file) => file.status !== "deleted" && !file.binary);
}

export type Language = "js" | "python" | "go" | "ruby" | "shell" | "yaml" | "other";

const LANGUAGE_BY_EXTENSION: Record<string, Language> = {
  js: "js",
  jsx: "js",
  mjs: "js",
  cjs: "js",
  ts: "js",
  tsx: "js",
  mts: "js",
  cts: "js",
  vue: "js",
  svelte: "js",
  py: "python",
  pyw: "python",
  go: "go",
  rb: "ruby",
  rake: "ruby",
  sh: "shell",
  bash: "shell",
  zsh: "shell",
  yml: "yaml",
  yaml: "yaml",
};

export function extensionOf(path: string): string {
  const base = basename(path);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function languageOf(path: string): Language {
  if (basename(path) === "Gemfile" || basename(path) === "Rakefile") return "ruby";
  return LANGUAGE_BY_EXTENSION[extensionOf(path)] ?? "other";
}

/** Test code: test/, tests/, __tests__/, spec/ folders, *.test.*, *.spec.*, *_test.go, test_*.py, *_test.py, *_spec.rb, conftest.py. */
export function isTestPath(path: string): boolean {
  return (
    /(^|\/)(test|tests|__tests__|spec)\//.test(path) ||
    /\.(test|spec)\.[^/]+$/.test(path) ||
    /_test\.go$/.test(path) ||
    /(^|\/)(test_[^/]*|[^/]*_test|conftest)\.py$/.test(path) ||
    /_spec\.rb$/.test(path)
  );
}

/** Prose: Markdown and friends, and anything under docs/. */
export function isDocPath(path: string): boolean {
  return /(^|\/)docs?\//.test(path) || /\.(md|mdx|markdown|rst|adoc|txt)$/i.test(path) || /(^|\/)(LICENSE|CHANGELOG|NOTICE|AUTHORS)(\.[^/]*)?$/i.test(path);
}

/** Command-line entry points, where printing is the point: scripts/, bin/, tools/, examples/, cli.* files. */
export function isScriptPath(path: string): boolean {
  return /(^|\/)(scripts?|bin|tools|examples?)\//.test(path) || /(^|\/)(cli|__main__)\.[^/]+$/.test(path);
}

/** A whole-line comment in the file's language (YAML and shell use `#`, like Python and Ruby). */
export function isCommentLine(text: string, language: Language): boolean {
  const trimmed = text.trim();
  if (language === "python" || language === "ruby" || language === "shell" || language === "yaml") return trimmed.startsWith("#");
  return trimmed.startsWith("//") || trimmed.startsWith("/*") || trimmed.startsWith("*") || trimmed.startsWith("<!--");
}

export function indentOf(text: string): number {
  return /^[ \t]*/.exec(text)![0].length;
}

/** Splits file content into lines without their terminators (a final newline does not add a line). */
export function splitLines(content: string): string[] {
  const lines = content.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

const withoutCr = (text: string) => (text.endsWith("\r") ? text.slice(0, -1) : text);

/**
 * The new version of a file as far as the analyzer can know it: every line when `input.files`
 * holds content that agrees with the diff's added lines, else the added lines alone (for an added
 * file that is the whole file).
 */
export class NewFile {
  /** Text of known new-file lines, by line number. */
  private readonly known = new Map<number, string>();
  readonly addedLines: ReadonlySet<number>;
  /** True when every line of the new file is known. */
  readonly complete: boolean;

  constructor(
    readonly file: DiffFile,
    content: string | undefined,
  ) {
    this.addedLines = new Set(file.added.map((added) => added.line));
    const lines = content === undefined ? null : splitLines(content);
    if (lines && file.added.every((added) => withoutCr(lines[added.line - 1] ?? "\u0000") === withoutCr(added.text))) {
      lines.forEach((text, index) => this.known.set(index + 1, withoutCr(text)));
      this.complete = true;
    } else {
      for (const added of file.added) this.known.set(added.line, withoutCr(added.text));
      this.complete = file.status === "added";
    }
  }

  static of(file: DiffFile, files: ReadonlyMap<string, string>): NewFile {
    return new NewFile(file, files.get(file.path));
  }

  get path(): string {
    return this.file.path;
  }

  /** The text of a new-file line, when known. */
  line(number: number): string | undefined {
    return this.known.get(number);
  }

  /** Known lines in runs of consecutive line numbers (one run when the whole file is known). */
  segments(): DiffLine[][] {
    const numbers = [...this.known.keys()].sort((a, b) => a - b);
    const runs: DiffLine[][] = [];
    let run: DiffLine[] = [];
    for (const number of numbers) {
      if (run.length > 0 && run[run.length - 1]!.line !== number - 1) {
        runs.push(run);
        run = [];
      }
      run.push({ line: number, text: this.known.get(number)! });
    }
    if (run.length > 0) runs.push(run);
    return runs;
  }

  /** Every known line, in order. */
  allLines(): DiffLine[] {
    return this.segments().flat();
  }

  /** Added lines, with carriage returns removed. */
  added(): DiffLine[] {
    return this.file.added.map((added) => ({ line: added.line, text: withoutCr(added.text) }));
  }
}

/**
 * The argument text of a call whose `(` is at `column` of new-file line `lineNumber`, read across
 * following known lines (up to `maxLines`) until the parenthesis closes. Strings and comments are
 * skipped when matching parentheses. `closed` is false when the call did not close in what is known.
 */
export function callArguments(source: NewFile, lineNumber: number, column: number, maxLines = 12): { text: string; closed: boolean } {
  let depth = 0;
  let quote: string | null = null;
  let text = "";
  const hashComments = languageOf(source.path) === "python";
  for (let number = lineNumber; number < lineNumber + maxLines; number++) {
    const line = source.line(number);
    if (line === undefined) break;
    for (let index = number === lineNumber ? column : 0; index < line.length; index++) {
      const char = line[index]!;
      if (quote) {
        text += char;
        if (char === "\\") {
          text += line[index + 1] ?? "";
          index++;
        } else if (char === quote) quote = null;
        continue;
      }
      if (char === "'" || char === '"' || char === "`") quote = char;
      else if (char === "(" || char === "[" || char === "{") depth++;
      else if (char === ")" || char === "]" || char === "}") {
        depth--;
        if (depth === 0) return { text: text.slice(1), closed: true };
      } else if (char === "#" && hashComments) break;
      else if (char === "/" && line[index + 1] === "/" && !hashComments) break;
      text += char;
    }
    if (quote !== "`") quote = null;
    text += "\n";
  }
  return { text: text.slice(1), closed: false };
}

/** Splits argument text at top-level commas. */
export function splitArguments(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = "";
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quote) {
      current += char;
      if (char === "\\") current += text[++index] ?? "";
      else if (char === quote) quote = null;
      continue;
    }
    if (char === "'" || char === '"' || char === "`") quote = char;
    else if (char === "(" || char === "[" || char === "{") depth++;
    else if (char === ")" || char === "]" || char === "}") depth--;
    else if (char === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
      continue;
    }
    current += char;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** Removes string literals (keeping their quotes) so operators inside them are not mistaken for code. */
export function blankStrings(text: string): string {
  return text.replace(/(["'`])(?:\\.|(?!\1)[^\\])*\1/gs, (literal) => literal[0]! + literal[0]!);
}
