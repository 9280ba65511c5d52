// security/dynamic-code-eval and security/shell-injection: code or shell commands built at
// runtime from values the analyzer cannot prove constant.
import type { Analyzer } from "../analyzer.js";
import { FindingSet } from "../finding.js";
import { NewFile, blankStrings, callArguments, isCommentLine, isDocPath, languageOf, reviewableFiles, splitArguments, type Language } from "./support.js";

/** A plain string literal: no interpolation, no concatenation. */
export function isPlainStringLiteral(argument: string, language: Language): boolean {
  const text = argument.trim();
  if (language === "python") return /^[rRbBuU]{0,2}(?:'''[\s\S]*'''|"""[\s\S]*"""|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")$/.test(text);
  if (/^`(?:\\.|[^`\\])*`$/.test(text)) return !text.includes("${");
  return /^(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")$/.test(text);
}

/** A command string assembled in the call: a template or f-string with interpolation, `+`, `%` or `.format(`. */
export function isBuiltString(argument: string, language: Language): boolean {
  const text = argument.trim();
  if (language === "js" && /^`[\s\S]*\$\{/.test(text)) return true;
  if (language === "python" && /^[rRbB]?[fF][rRbB]?(["'])[\s\S]*\{/.test(text)) return true;
  const code = blankStrings(text);
  if (/\+/.test(code)) return true;
  return language === "python" && (/(["'])\1\s*%/.test(code) || /(["'])\1\s*\.\s*format\s*\(/.test(code));
}

interface CallSite {
  /** Column of the call's `(`. */
  paren: number;
  name: string;
}

function callSites(text: string, pattern: RegExp): CallSite[] {
  return [...text.matchAll(pattern)].map((match) => ({ paren: match.index + match[0].length - 1, name: match[1] ?? match[0] }));
}

/** Whether a column of a line is inside a string literal (a message that mentions `eval(`). */
function insideString(text: string, column: number): boolean {
  let quote: string | null = null;
  for (let index = 0; index < column; index++) {
    const char = text[index]!;
    if (quote) {
      if (char === "\\") index++;
      else if (char === quote) quote = null;
    } else if (char === "'" || char === '"' || char === "`") quote = char;
  }
  return quote !== null;
}

const JS_EVAL = /(?<![\w$.])(eval)\s*\(|\bnew\s+(Function)\s*\(/g;
const PY_EVAL = /(?<![\w.])(eval|exec)\s*\(/g;

export const dynamicCodeEval: Analyzer = {
  angle: "security",
  rule: "security/dynamic-code-eval",
  description: "`eval(…)` or `new Function(…)` (JavaScript/TypeScript) and `eval(…)`/`exec(…)` (Python) called with anything but string literals (major).",
  run({ diff, files }) {
    const found = new FindingSet("security/dynamic-code-eval");
    for (const file of reviewableFiles(diff)) {
      const language = languageOf(file.path);
      const pattern = language === "js" ? JS_EVAL : language === "python" ? PY_EVAL : null;
      if (!pattern || isDocPath(file.path)) continue;
      const source = NewFile.of(file, files);
      for (const { line, text } of source.added()) {
        if (isCommentLine(text, language)) continue;
        for (const site of callSites(text, pattern)) {
          if (insideString(text, site.paren)) continue;
          const { text: args } = callArguments(source, line, site.paren);
          const parts = splitArguments(args);
          if (parts.every((part) => isPlainStringLiteral(part, language))) continue;
          found.add(file.path, line, {
            severity: "major",
            title: `Dynamic code execution with \`${site.name === "Function" ? "new Function" : site.name}\``,
            rationale:
              "The code executed here is computed at runtime. If any part of it can come from a user, a request, a file or another service, that input runs with the application's full privileges (code injection).",
            suggestion:
              language === "python"
                ? "Parse the data instead (`json.loads`, `ast.literal_eval` for literals) or dispatch to a fixed set of functions; never evaluate text built from input."
                : "Parse the data instead (`JSON.parse`) or dispatch through a lookup table of functions; never evaluate text built from input.",
          });
          break;
        }
      }
    }
    return found.findings;
  },
};

const JS_SHELL = /(?<![\w$.])(exec|execSync)\s*\(|\b(?:child_process|childProcess|cp|shell)\.(exec|execSync)\s*\(/g;
const PY_SHELL_FLAG = /(?<![\w.])(?:subprocess\.)?(run|call|Popen|check_call|check_output)\s*\(/g;
const PY_ALWAYS_SHELL = /\b(?:os\.(system|popen)|subprocess\.(getoutput|getstatusoutput)|commands\.(getoutput))\s*\(/g;

const SHELL_TEXT = {
  severity: "major",
  title: "Shell command built from interpolated values",
  rationale:
    "The command line is assembled from values at runtime and handed to a shell. Any value containing shell syntax (`;`, `$(…)`, backticks, quotes) runs arbitrary commands (command injection).",
} as const;

export const shellInjection: Analyzer = {
  angle: "security",
  rule: "security/shell-injection",
  description:
    "Shell execution of a command built in the call: `exec`/`execSync` with a template literal or concatenation (JavaScript/TypeScript), `subprocess.*(…, shell=True)`, `os.system`/`os.popen` with an f-string, concatenation, `%` or `.format` (Python) (major).",
  run({ diff, files }) {
    const found = new FindingSet("security/shell-injection");
    for (const file of reviewableFiles(diff)) {
      const language = languageOf(file.path);
      if ((language !== "js" && language !== "python") || isDocPath(file.path)) continue;
      const source = NewFile.of(file, files);
      for (const { line, text } of source.added()) {
        if (isCommentLine(text, language)) continue;
        if (language === "js") {
          for (const site of callSites(text, JS_SHELL)) {
            if (insideString(text, site.paren)) continue;
            const [command] = splitArguments(callArguments(source, line, site.paren).text);
            if (command === undefined || !isBuiltString(command, language)) continue;
            found.add(file.path, line, {
              ...SHELL_TEXT,
              suggestion:
                "Use `execFile`/`spawn` with the program and an argument array (no shell), e.g. `execFile(\"git\", [\"log\", branch])`, and validate values that select options.",
            });
          }
          continue;
        }
        const sites = [
          ...callSites(text, PY_SHELL_FLAG).map((site) => ({ ...site, needsShellFlag: true })),
          ...callSites(text, PY_ALWAYS_SHELL).map((site) => ({ ...site, needsShellFlag: false })),
        ];
        for (const site of sites) {
          if (insideString(text, site.paren)) continue;
          const [command, ...rest] = splitArguments(callArguments(source, line, site.paren).text);
          if (command === undefined || !isBuiltString(command, language)) continue;
          if (site.needsShellFlag && !rest.some((argument) => /^shell\s*=\s*True$/.test(argument))) continue;
          found.add(file.path, line, {
            ...SHELL_TEXT,
            suggestion:
              "Pass the program and its arguments as a list without a shell, e.g. `subprocess.run([\"grep\", pattern, path], check=True)`; if a shell is unavoidable, quote each value with `shlex.quote`.",
          });
        }
      }
    }
    return found.findings;
  },
};
