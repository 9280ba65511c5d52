// Import statements of JS/TS and Python files, and how their specifiers resolve to repository
// paths. Pure: existence is asked of a callback, so the same code runs on a prefetched file map
// (the architecture analyzers) and decides what to prefetch (the review graph's gather step).
import { posix } from "node:path";

export type ImportLanguage = "js" | "python";

export interface ImportRef {
  /**
   * As written for JS/TS (`./b.js`, `react`). For Python, dotted with leading dots for relative
   * imports; `from X import a` gives `X.a` (a may be a submodule or a name in X; resolution tries
   * the submodule, then X), `from X import *` gives `X`.
   */
  specifier: string;
  /** First line of the statement (1-based). */
  line: number;
  /** Last line of the statement: where the specifier is. */
  endLine: number;
  kind: "import" | "export" | "side-effect" | "dynamic" | "require" | "python";
  /** Erased at runtime: TS `import type`/`export type`, Python imports under `if TYPE_CHECKING:`. */
  typeOnly: boolean;
}

const JS_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"] as const;

/** The import syntax a path is parsed with, from its extension; null for anything else. */
export function importLanguage(path: string): ImportLanguage | null {
  if (/\.(?:[cm]?[jt]s|[jt]sx)$/.test(path)) return "js";
  if (/\.pyi?$/.test(path)) return "python";
  return null;
}

/** The imports of a file with their lines, in source order. Unknown languages have none. */
export function parseImports(path: string, content: string): ImportRef[] {
  const language = importLanguage(path);
  if (language === "js") return parseJsImports(content);
  if (language === "python") return parsePythonImports(content);
  return [];
}

/** The specifiers a file imports, in source order, without repeats. */
export function importSpecifiers(path: string, content: string): string[] {
  return [...new Set(parseImports(path, content).map((ref) => ref.specifier))];
}

/**
 * Repository paths a specifier may name, most likely first (extension probing, `/index.*`,
 * TypeScript's `.js` → `.ts`; Python modules and packages). Empty for packages (bare JS
 * specifiers, which need a resolver with node_modules) and for paths outside the repository.
 */
export function candidatePaths(fromPath: string, specifier: string): string[] {
  const language = importLanguage(fromPath);
  if (language === "js") return jsCandidates(fromPath, specifier);
  if (language === "python") return pythonCandidates(fromPath, specifier);
  return [];
}

/**
 * The first candidate path that exists, or null (a package, or a file that is not known). For
 * Python, the package root found through existing `__init__.py` files is tried first.
 */
export function resolveImport(fromPath: string, specifier: string, exists: (path: string) => boolean): string | null {
  const candidates = importLanguage(fromPath) === "python" ? pythonCandidates(fromPath, specifier, [pythonPackageRoot(fromPath, exists)]) : candidatePaths(fromPath, specifier);
  for (const candidate of candidates) if (exists(candidate)) return candidate;
  return null;
}

/** The directory above the importing file's package: the first one up without an `__init__.py`. */
function pythonPackageRoot(fromPath: string, exists: (path: string) => boolean): string {
  let dir = posix.dirname(fromPath) === "." ? "" : posix.dirname(fromPath);
  while (dir && exists(`${dir}/__init__.py`)) dir = posix.dirname(dir) === "." ? "" : posix.dirname(dir);
  return dir;
}

/** Whether a specifier points into the repository (relative), as opposed to a package. */
export function isRelativeSpecifier(fromPath: string, specifier: string): boolean {
  return importLanguage(fromPath) === "python" ? specifier.startsWith(".") : /^\.\.?(\/|$)/.test(specifier);
}

/** Normalised repository path, or null when `..` climbs above the root. */
function normalise(path: string): string | null {
  const joined = posix.normalize(path);
  if (joined === ".." || joined.startsWith("../") || joined.startsWith("/")) return null;
  return joined === "." ? "" : joined.replace(/\/$/, "");
}

const withDir = (dir: string, path: string) => (dir ? `${dir}/${path}` : path);

function jsCandidates(fromPath: string, specifier: string): string[] {
  if (!/^\.\.?(\/|$)/.test(specifier)) return [];
  const base = normalise(posix.join(posix.dirname(fromPath), specifier.split(/[?#]/)[0]!));
  if (base === null) return [];
  const candidates: string[] = [];
  const mapped = /^(.*)\.(js|jsx|mjs|cjs)$/.exec(base);
  if (mapped && mapped[1]) {
    const stem = mapped[1];
    const typescript = { js: [".ts", ".tsx"], jsx: [".tsx"], mjs: [".mts"], cjs: [".cts"] }[mapped[2] as "js" | "jsx" | "mjs" | "cjs"];
    candidates.push(...typescript.map((extension) => stem + extension), base);
    if (mapped[2] === "js") candidates.push(`${stem}.jsx`);
    return candidates;
  }
  if (base) candidates.push(base, ...JS_EXTENSIONS.map((extension) => base + extension));
  candidates.push(...JS_EXTENSIONS.map((extension) => withDir(base, `index${extension}`)));
  return [...new Set(candidates)];
}

function pythonCandidates(fromPath: string, specifier: string, knownRoots: string[] = []): string[] {
  const match = /^(\.*)([\w.]*)$/.exec(specifier);
  if (!match) return [];
  const dots = match[1]!.length;
  const parts = match[2] ? match[2].split(".").filter(Boolean) : [];
  let roots: string[];
  if (dots > 0) {
    const root = normalise(posix.join(posix.dirname(fromPath), ...Array<string>(dots - 1).fill("..")));
    if (root === null) return [];
    roots = [root];
  } else {
    if (!parts.length) return [];
    // sys.path guesses: a known package root, the repository root, src/, the importing file's directory (a script's).
    const own = posix.dirname(fromPath);
    roots = [...knownRoots, "", "src", own === "." ? "" : own];
  }
  roots = [...new Set(roots)];
  const module = (root: string, names: string[]) =>
    names.length ? [withDir(root, `${names.join("/")}.py`), withDir(root, `${names.join("/")}/__init__.py`)] : dots > 0 ? [withDir(root, "__init__.py")] : [];
  const exact = roots.flatMap((root) => module(root, parts));
  // `from X import name`: name may be an attribute of X rather than a submodule.
  const parent = parts.length ? roots.flatMap((root) => module(root, parts.slice(0, -1))) : [];
  return [...new Set([...exact, ...parent])];
}

// ---------------------------------------------------------------------------------------------
// JS/TS: a small tokenizer (comments, strings, templates, regex literals) and a statement matcher.

interface Token {
  type: "id" | "str" | "punct" | "num";
  value: string;
  line: number;
}

const REGEX_AFTER_KEYWORD = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  const n = source.length;
  /** `{` of a block or of a template substitution (`${`), to resume the template on its `}`. */
  const braces: ("brace" | "template")[] = [];
  let noRegexOnLine = 0;

  const readTemplate = (startLine: number): void => {
    // i is just after the opening backtick or after the `}` closing a substitution.
    let value = "";
    while (i < n) {
      const c = source[i]!;
      if (c === "\\") {
        value += source.slice(i, i + 2);
        if (source[i + 1] === "\n") line++;
        i += 2;
        continue;
      }
      if (c === "`") {
        i++;
        tokens.push({ type: "str", value, line: startLine });
        return;
      }
      if (c === "$" && source[i + 1] === "{") {
        i += 2;
        braces.push("template");
        tokens.push({ type: "punct", value: "`${", line: startLine });
        return;
      }
      if (c === "\n") line++;
      value += c;
      i++;
    }
  };

  const regexAllowed = (): boolean => {
    const previous = tokens[tokens.length - 1];
    if (!previous) return true;
    if (previous.type === "num" || previous.type === "str") return false;
    if (previous.type === "id") return REGEX_AFTER_KEYWORD.has(previous.value);
    return ![")", "]", "}"].includes(previous.value);
  };

  while (i < n) {
    const c = source[i]!;
    if (c === "\n") {
      line++;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\uFEFF") {
      i++;
      continue;
    }
    if (c === "#" && i === 0 && source[1] === "!") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && source[i + 1] === "/") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      for (let k = i; k < stop; k++) if (source[k] === "\n") line++;
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      const startLine = line;
      let value = "";
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") {
        if (source[i] === "\\") {
          if (source[i + 1] === "\n") line++;
          value += source[i + 1] ?? "";
          i += 2;
        } else value += source[i++];
      }
      if (source[i] === c) i++;
      tokens.push({ type: "str", value, line: startLine });
      continue;
    }
    if (c === "`") {
      i++;
      readTemplate(line);
      continue;
    }
    if (c === "{") {
      braces.push("brace");
      tokens.push({ type: "punct", value: c, line });
      i++;
      continue;
    }
    if (c === "}") {
      i++;
      if (braces.pop() === "template") readTemplate(line);
      else tokens.push({ type: "punct", value: c, line });
      continue;
    }
    if (/[A-Za-z_$\u0080-\uffff]/.test(c)) {
      const start = i;
      while (i < n && /[\w$\u0080-\uffff]/.test(source[i]!)) i++;
      tokens.push({ type: "id", value: source.slice(start, i), line });
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(source[i + 1] ?? ""))) {
      const start = i;
      while (i < n && /[\w.]/.test(source[i]!)) i++;
      tokens.push({ type: "num", value: source.slice(start, i), line });
      continue;
    }
    if (c === "/" && line !== noRegexOnLine && regexAllowed()) {
      // A regex literal: skip to the closing slash outside a character class, on this line.
      let k = i + 1;
      let inClass = false;
      let closed = false;
      while (k < n && source[k] !== "\n") {
        const d = source[k]!;
        if (d === "\\") k += 2;
        else {
          if (d === "[") inClass = true;
          else if (d === "]") inClass = false;
          else if (d === "/" && !inClass) {
            closed = true;
            break;
          }
          k++;
        }
      }
      if (closed) {
        i = k + 1;
        while (i < n && /[a-z]/i.test(source[i]!)) i++;
        tokens.push({ type: "num", value: "/regex/", line });
        continue;
      }
      // Not a regex after all; one failed scan per line keeps tokenizing linear.
      noRegexOnLine = line;
    }
    tokens.push({ type: "punct", value: c, line });
    i++;
  }
  return tokens;
}

function parseJsImports(source: string): ImportRef[] {
  const tokens = tokenize(source);
  const refs: ImportRef[] = [];
  const at = (k: number) => tokens[k];
  const is = (k: number, value: string, type?: Token["type"]) => tokens[k]?.value === value && (type === undefined || tokens[k]!.type === type);
  const isMember = (k: number) => is(k - 1, ".", "punct") && !is(k - 2, ".", "punct");
  /** `from "x"` at k: the string token, else null. */
  const fromAt = (k: number) => (is(k, "from", "id") && at(k + 1)?.type === "str" ? at(k + 1)! : null);

  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!;
    if (token.type !== "id" || isMember(k)) continue;

    if (token.value === "import") {
      const next = at(k + 1);
      if (!next) continue;
      if (next.value === "(" && next.type === "punct") {
        const spec = at(k + 2);
        if (spec?.type === "str" && (is(k + 3, ")", "punct") || is(k + 3, ",", "punct"))) {
          refs.push({ specifier: spec.value, line: token.line, endLine: spec.line, kind: "dynamic", typeOnly: false });
        }
        continue;
      }
      if (next.type === "str") {
        refs.push({ specifier: next.value, line: token.line, endLine: next.line, kind: "side-effect", typeOnly: false });
        continue;
      }
      if (next.value === "." || next.value === "=") continue;
      const typeOnly = is(k + 1, "type", "id") && !fromAt(k + 2) && !is(k + 2, ",", "punct") && !is(k + 2, "=", "punct");
      for (let j = k + 1; j < tokens.length && j < k + 400; j++) {
        const t = tokens[j]!;
        if (t.type === "punct" && (t.value === ";" || t.value === "=" || t.value === "(")) break;
        if (t.type === "id" && (t.value === "import" || t.value === "export") && j > k + 1) break;
        const spec = fromAt(j);
        if (spec && !is(j - 1, "{", "punct") && !is(j - 1, ",", "punct")) {
          refs.push({ specifier: spec.value, line: token.line, endLine: spec.line, kind: "import", typeOnly });
          break;
        }
      }
      continue;
    }

    if (token.value === "export") {
      let j = k + 1;
      const typeOnly = is(j, "type", "id") && (is(j + 1, "*", "punct") || is(j + 1, "{", "punct"));
      if (typeOnly) j++;
      let spec: Token | null = null;
      if (is(j, "*", "punct")) {
        if (is(j + 1, "as", "id")) spec = fromAt(j + 3);
        else spec = fromAt(j + 1);
      } else if (is(j, "{", "punct")) {
        let depth = 0;
        for (; j < tokens.length && j < k + 400; j++) {
          if (is(j, "{", "punct")) depth++;
          else if (is(j, "}", "punct") && --depth === 0) break;
          else if (is(j, ";", "punct")) break;
        }
        if (is(j, "}", "punct")) spec = fromAt(j + 1);
      }
      if (spec) refs.push({ specifier: spec.value, line: token.line, endLine: spec.line, kind: "export", typeOnly });
      continue;
    }

    if (token.value === "require" && is(k + 1, "(", "punct")) {
      const spec = at(k + 2);
      if (spec?.type === "str" && is(k + 3, ")", "punct")) {
        const typeOnly = is(k - 1, "=", "punct") && is(k - 3, "type", "id") && is(k - 4, "import", "id");
        refs.push({ specifier: spec.value, line: token.line, endLine: spec.line, kind: "require", typeOnly });
      }
    }
  }
  return refs;
}

// ---------------------------------------------------------------------------------------------
// Python: logical lines (brackets, backslashes), strings and comments removed, blocks by indent.

interface LogicalLine {
  code: string;
  line: number;
  endLine: number;
  indent: number;
}

/** Logical lines of Python code with string contents blanked (kept as `""`) and comments dropped. */
function pythonLogicalLines(source: string): LogicalLine[] {
  const result: LogicalLine[] = [];
  let code = "";
  let startLine = 1;
  let indent = -1;
  let depth = 0;
  let line = 1;
  let i = 0;
  const n = source.length;
  let atLineStart = true;
  let column = 0;

  const flush = (endLine: number) => {
    if (code.trim()) result.push({ code: code.trim(), line: startLine, endLine, indent: indent < 0 ? 0 : indent });
    code = "";
    indent = -1;
    depth = 0;
  };

  while (i < n) {
    const c = source[i]!;
    if (atLineStart) {
      column = 0;
      while (source[i] === " " || source[i] === "\t") {
        column += source[i] === "\t" ? 8 - (column % 8) : 1;
        i++;
      }
      atLineStart = false;
      continue;
    }
    if (c === "\n") {
      line++;
      i++;
      atLineStart = true;
      if (depth === 0) flush(line - 1);
      else code += " ";
      continue;
    }
    if (c === "\\" && source[i + 1] === "\n") {
      i += 2;
      line++;
      code += " ";
      while (source[i] === " " || source[i] === "\t") i++;
      continue;
    }
    if (c === "#") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    if (indent < 0 && !/\s/.test(c)) {
      indent = column;
      startLine = line;
    }
    if (c === '"' || c === "'") {
      const triple = source.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      i += quote.length;
      while (i < n) {
        if (source[i] === "\\") {
          if (source[i + 1] === "\n") line++;
          i += 2;
          continue;
        }
        if (source.startsWith(quote, i)) {
          i += quote.length;
          break;
        }
        if (source[i] === "\n") {
          if (!triple) break;
          line++;
        }
        i++;
      }
      code += '""';
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if ((c === ")" || c === "]" || c === "}") && depth > 0) depth--;
    code += c;
    i++;
  }
  flush(line);
  return result;
}

const PY_NAME = /^[A-Za-z_][\w]*(?:\s*\.\s*[A-Za-z_]\w*)*$/;

function parsePythonImports(source: string): ImportRef[] {
  const refs: ImportRef[] = [];
  const blocks: { indent: number; typeChecking: boolean }[] = [];
  for (const logical of pythonLogicalLines(source)) {
    while (blocks.length && blocks[blocks.length - 1]!.indent >= logical.indent) blocks.pop();
    let code = logical.code;
    const guard = /^if\s+(?:typing\s*\.\s*)?TYPE_CHECKING\s*:\s*(.*)$/.exec(code);
    if (guard) {
      if (!guard[1]) {
        blocks.push({ indent: logical.indent, typeChecking: true });
        continue;
      }
      code = guard[1];
    } else if (/:$/.test(code)) {
      blocks.push({ indent: logical.indent, typeChecking: false });
    }
    const typeOnly = Boolean(guard) || blocks.some((block) => block.typeChecking);
    for (const statement of code.split(";").map((part) => part.trim())) {
      const push = (specifier: string) => refs.push({ specifier, line: logical.line, endLine: logical.endLine, kind: "python", typeOnly });
      const plain = /^import\s+(.+)$/.exec(statement);
      if (plain) {
        for (const item of plain[1]!.split(",")) {
          const name = item.trim().split(/\s+as\s+/)[0]!.trim();
          if (PY_NAME.test(name)) push(name.replace(/\s+/g, ""));
        }
        continue;
      }
      // `from <module> import <names>`, split with string search rather than one backtracking pattern.
      if (!/^from\s/.test(statement)) continue;
      const keyword = /\simport(?=[\s(])/.exec(statement);
      if (!keyword) continue;
      const module = statement.slice(5, keyword.index).replace(/\s+/g, "");
      if (!module || !/^\.*(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)?$/.test(module)) continue;
      const names = statement.slice(keyword.index + 7).trim().replace(/^\(|\)$/g, "").trim();
      if (names === "*") {
        push(module);
        continue;
      }
      for (const item of names.split(",")) {
        const name = item.trim().split(/\s+as\s+/)[0]!.trim();
        if (!/^[A-Za-z_]\w*$/.test(name)) continue;
        push(module.endsWith(".") ? module + name : `${module}.${name}`);
      }
    }
  }
  return refs;
}
