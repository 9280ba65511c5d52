// Finds function definitions and their extent in JavaScript/TypeScript, Go (brace tracking) and
// Python (indentation), in a run of consecutive lines. Heuristic by design: good enough to size
// functions, not a parser.
import type { DiffLine } from "../diff.js";
import { indentOf, type Language } from "../security/support.js";

export interface FunctionSpan {
  name: string;
  /** New-file line of the definition. */
  start: number;
  /** New-file line where the body ends (the segment's last line when it does not end in it). */
  end: number;
}

/** How many lines a signature may take before its body opens. */
export const MAX_SIGNATURE_LINES = 12;

type Kind = "function" | "arrow" | "method";

const JS_FUNCTION = /^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\b\s*\*?\s*([\w$]*)/;
const JS_ASSIGNED =
  /^\s*(?:export\s+)?(?:(?:const|let|var)\s+|(?:(?:public|private|protected|static|readonly|override)\s+)+)?([\w$.#]+)\s*(?::[^=]*)?=\s*(?:async\s+)?(function\b|\(|[\w$]+\s*=>)/;
/** `name: async (…) => {` and `name: function (…) {` in object literals. */
const JS_PROPERTY = /^\s*([\w$]+)\s*:\s*(?:async\s+)?(function\b|\(|[\w$]+\s*=>)/;
const JS_METHOD = /^\s*(?:(?:public|private|protected|static|async|override|abstract|get|set)\s+)*\*?\s*(#?[\w$]+)\s*(?:<[^>()]*>)?\s*\(/;
const GO_FUNC = /^func\s*(?:\([^)]*\)\s*)?([\w]+)\s*(?:\[[^\]]*\])?\s*\(/;
const PY_DEF = /^(\s*)(?:async\s+)?def\s+(\w+)\s*\(/;

const NOT_METHOD_NAMES = new Set([
  "if", "for", "while", "switch", "catch", "with", "return", "function", "typeof", "await", "new", "super", "else", "do", "try",
  "yield", "delete", "void", "import", "require", "throw", "case", "in", "of",
]);

interface Start {
  name: string;
  kind: Kind;
  index: number;
}

function braceStarts(lines: readonly DiffLine[], language: Language): Start[] {
  const starts: Start[] = [];
  lines.forEach(({ text }, index) => {
    if (language === "go") {
      const go = GO_FUNC.exec(text);
      if (go) starts.push({ name: go[1]!, kind: "function", index });
      return;
    }
    const fn = JS_FUNCTION.exec(text);
    if (fn) return starts.push({ name: fn[1] || "(anonymous)", kind: "function", index });
    const assigned = JS_ASSIGNED.exec(text) ?? JS_PROPERTY.exec(text);
    if (assigned) return starts.push({ name: assigned[1]!, kind: assigned[2] === "function" ? "function" : "arrow", index });
    const method = JS_METHOD.exec(text);
    if (method && !NOT_METHOD_NAMES.has(method[1]!)) starts.push({ name: method[1]!, kind: "method", index });
  });
  return starts;
}

/**
 * Code characters of consecutive lines from a line on, with strings and comments skipped:
 * `'…'`/`"…"` end at the line, `` `…` `` and `/* … *\/` may span lines.
 */
function* codeChars(lines: readonly DiffLine[], from: number): Generator<{ index: number; char: string }> {
  let quote: string | null = null;
  let blockComment = false;
  for (let index = from; index < lines.length; index++) {
    const text = lines[index]!.text;
    if (quote !== "`") quote = null;
    for (let column = 0; column < text.length; column++) {
      const char = text[column]!;
      if (blockComment) {
        if (char === "*" && text[column + 1] === "/") {
          blockComment = false;
          column++;
        }
        continue;
      }
      if (quote) {
        if (char === "\\") column++;
        else if (char === quote) quote = null;
        continue;
      }
      if (char === "/" && text[column + 1] === "/") break;
      if (char === "/" && text[column + 1] === "*") {
        blockComment = true;
        column++;
        continue;
      }
      if (char === "'" || char === '"' || char === "`") {
        quote = char;
        continue;
      }
      yield { index, char };
    }
    yield { index, char: "\n" };
  }
}

/** The index of the line that closes the body of a function starting at `start`, or null when it is not a function. */
function braceBodyEnd(lines: readonly DiffLine[], start: Start, language: Language): number | null {
  let depth = 0;
  let paramsClosed = false;
  let prefix = "";
  let afterParams = "";
  let bodyDepth: number | null = null;
  for (const { index, char } of codeChars(lines, start.index)) {
    if (bodyDepth === null) {
      if (index - start.index >= MAX_SIGNATURE_LINES) return null;
      if (char === "{" && depth === 0) {
        const arrow = prefix.trimEnd().endsWith("=>");
        if (start.kind === "arrow" ? !arrow : arrow) return null;
        if (start.kind !== "arrow" && paramsClosed) {
          const allowed = language === "go" ? /^[^;=]*$/ : /^\s*(?::[^;=]*)?$/;
          if (!allowed.test(afterParams)) return null;
        }
        bodyDepth = 1;
        continue;
      }
      if (char === "(" || char === "[") depth++;
      else if (char === ")" || char === "]") {
        depth--;
        if (depth === 0 && char === ")" && !paramsClosed) {
          paramsClosed = true;
          continue;
        }
      } else if (depth === 0) {
        if (char === ";") return null;
        prefix += char;
        if (paramsClosed) afterParams += char;
      }
      continue;
    }
    if (char === "{") bodyDepth++;
    else if (char === "}") {
      bodyDepth--;
      if (bodyDepth === 0) return index;
    }
  }
  return bodyDepth === null ? null : lines.length - 1;
}

/** Python code of a line without string literals and comments. */
const pythonCode = (text: string) => text.replace(/(["'])(?:\\.|(?!\1)[^\\])*\1/g, "''").replace(/#.*$/, "");

function pythonFunctions(lines: readonly DiffLine[]): FunctionSpan[] {
  const spans: FunctionSpan[] = [];
  lines.forEach(({ text }, index) => {
    const def = PY_DEF.exec(text);
    if (!def) return;
    const indent = def[1]!.length;
    // The signature ends where the brackets close on a line ending with `:` (the body follows) or
    // with `): statement` (a one-line function).
    let depth = 0;
    for (let at = index; at < lines.length && at - index < MAX_SIGNATURE_LINES; at++) {
      const code = pythonCode(lines[at]!.text);
      for (const char of code) {
        if ("([{".includes(char)) depth++;
        else if (")]}".includes(char)) depth--;
      }
      if (depth > 0) continue;
      if (!code.trimEnd().endsWith(":")) {
        if (/\)\s*(?:->[^:]*)?:\s*\S/.test(code)) spans.push({ name: def[2]!, start: lines[index]!.line, end: lines[at]!.line });
        return;
      }
      let end = at;
      for (let body = at + 1; body < lines.length; body++) {
        const line = lines[body]!.text;
        if (line.trim() === "") continue;
        if (indentOf(line) <= indent) break;
        end = body;
      }
      spans.push({ name: def[2]!, start: lines[index]!.line, end: lines[end]!.line });
      return;
    }
  });
  return spans;
}

/** Function definitions in a run of consecutive lines, with the line range each spans. */
export function findFunctions(lines: readonly DiffLine[], language: Language): FunctionSpan[] {
  if (language === "python") return pythonFunctions(lines);
  if (language !== "js" && language !== "go") return [];
  const spans: FunctionSpan[] = [];
  for (const start of braceStarts(lines, language)) {
    const end = braceBodyEnd(lines, start, language);
    if (end !== null) spans.push({ name: start.name, start: lines[start.index]!.line, end: lines[end]!.line });
  }
  return spans;
}
