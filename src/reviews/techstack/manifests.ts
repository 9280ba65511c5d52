// Dependency manifests: which files they are, what they declare (with lines), and which lockfile
// records their resolution. Parsers are line-oriented so they also work on diff fragments, where
// a section header may lie outside the hunk ("unknown" section).
import { posix } from "node:path";
import { splitLines } from "../security/support.js";
import { dependencyId } from "./catalog.js";
import type { Ecosystem } from "./versions.js";

export type DependencyKind = "runtime" | "dev" | "peer" | "optional" | "build";

export interface Dependency {
  ecosystem: Ecosystem;
  name: string;
  /** Identity within the ecosystem (normalised name; Go without the /vN suffix). */
  id: string;
  /** The version specifier as written; "" when there is none (git, path). */
  version: string;
  /** Where it is declared (`devDependencies`, `tool.poetry.group.dev.dependencies`, `require`); "unknown" in a fragment. */
  section: string;
  kind: DependencyKind;
  /** Line naming the dependency. */
  line: number;
  /** Line of its version (the same line unless a TOML table declares it). */
  versionLine: number;
  /** Go: a `// indirect` requirement, pulled in by another module. */
  indirect: boolean;
  /** Not from a registry: git, URL, local path or workspace sibling. */
  source: "registry" | "git" | "url" | "local";
}

export interface NumberedLine {
  line: number;
  text: string;
}

export interface ManifestKind {
  ecosystem: Ecosystem;
  /** Human name: `package.json`, `go.mod`. */
  label: string;
  matches(path: string): boolean;
  /**
   * The dependencies declared in these lines. `whole`: the lines are the entire file; otherwise a
   * fragment of it (a hunk), whose first lines may belong to a section declared above it.
   */
  parse(lines: readonly NumberedLine[], whole: boolean, path: string): Dependency[];
  /** File names of lockfiles that pin this manifest's resolution; empty when none is expected. */
  lockfiles(path: string, text: string): string[];
  /** Where such a lockfile lives: next to the manifest, or there or in a parent directory (workspaces). */
  lockfileScope: "same-dir" | "ancestors";
  /** The command that updates the lockfile, for messages. */
  lockCommand: string;
  /** What goes wrong when the lockfile is left behind, for messages. */
  lockRisk: string;
}

export function numbered(content: string): NumberedLine[] {
  return splitLines(content).map((text, index) => ({ line: index + 1, text }));
}

const base = (path: string) => posix.basename(path);

function dependency(
  ecosystem: Ecosystem,
  fields: Omit<Dependency, "ecosystem" | "id" | "indirect" | "source" | "versionLine"> & Partial<Pick<Dependency, "indirect" | "source" | "versionLine">>,
): Dependency {
  return {
    ecosystem,
    id: dependencyId(ecosystem, fields.name),
    indirect: false,
    source: "registry",
    versionLine: fields.line,
    ...fields,
  };
}

// ---------------------------------------------------------------------------------------------
// package.json

const NPM_SECTIONS: Record<string, DependencyKind> = {
  dependencies: "runtime",
  devDependencies: "dev",
  peerDependencies: "peer",
  optionalDependencies: "optional",
};

/** Keys that look like `"name": "version"` but are not dependencies (top level, engines). */
const NPM_NOT_DEPENDENCIES = new Set(["name", "version", "node", "npm", "yarn", "pnpm", "bun", "packageManager", "license", "type", "main", "module", "types", "typings"]);

function npmSource(spec: string): Dependency["source"] {
  if (/^(workspace|file|link|portal):/.test(spec)) return "local";
  if (/^(git(\+[a-z]+)?:|git@|github:|gitlab:|bitbucket:)/.test(spec) || /^[\w.-]+\/[\w.-]+(#.*)?$/.test(spec)) return "git";
  if (/^https?:/.test(spec)) return "url";
  return "registry";
}

const looksLikeNpmSpec = (value: string) => /^(?:[\^~<>=*]|v?\d|x$|latest$|next$|npm:|workspace:|file:|link:|git|github:|https?:)/.test(value);

/** `"key": "value"` pairs nested exactly at [section, key] in a JSON text, with their lines. */
function jsonPairsAtDepthTwo(lines: readonly NumberedLine[]): { section: string; key: string; value: string; line: number; valueLine: number }[] {
  const pairs: { section: string; key: string; value: string; line: number; valueLine: number }[] = [];
  const stack: { object: boolean; key: string | null; expectKey: boolean }[] = [];
  let pendingKey: string | null = null;
  let keyLine = 0;
  for (const { line, text } of lines) {
    let i = 0;
    while (i < text.length) {
      const c = text[i]!;
      const top = stack[stack.length - 1];
      if (c === "{" || c === "[") {
        stack.push({ object: c === "{", key: pendingKey, expectKey: c === "{" });
        pendingKey = null;
        i++;
      } else if (c === "}" || c === "]") {
        stack.pop();
        i++;
      } else if (c === ":") {
        if (top) top.expectKey = false;
        i++;
      } else if (c === ",") {
        if (top?.object) top.expectKey = true;
        i++;
      } else if (c === '"') {
        let end = i + 1;
        while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
        let value: string;
        try {
          value = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          value = text.slice(i + 1, end);
        }
        i = end + 1;
        if (top?.object && top.expectKey) {
          pendingKey = value;
          keyLine = line;
        } else {
          if (stack.length === 2 && top?.object && top.key !== null && pendingKey !== null) {
            pairs.push({ section: top.key, key: pendingKey, value, line: keyLine, valueLine: line });
          }
          pendingKey = null;
        }
      } else i++;
    }
  }
  return pairs;
}

/** Fragment parsing: one `"name": "spec"` per line, sections from `"devDependencies": {` lines when visible. */
function npmFragment(lines: readonly NumberedLine[]): { section: string; key: string; value: string; line: number; valueLine: number }[] {
  const pairs: { section: string; key: string; value: string; line: number; valueLine: number }[] = [];
  let section: string | null = null;
  for (const { line, text } of lines) {
    const opener = /^\s*"([^"]+)"\s*:\s*\{\s*(?:(\})\s*(?:,\s*)?)?$/.exec(text);
    if (opener) {
      section = opener[2] ? "top" : opener[1]!;
      continue;
    }
    if (/^\s*\}/.test(text)) {
      section = "top";
      continue;
    }
    const pair = /^\s*"([^"]+)"\s*:\s*"((?:[^"\\]|\\.)*)"\s*(?:,\s*)?$/.exec(text);
    if (!pair) continue;
    const [, key, value] = pair as unknown as [string, string, string];
    if (section === null) {
      if (!NPM_NOT_DEPENDENCIES.has(key) && looksLikeNpmSpec(value)) pairs.push({ section: "unknown", key, value, line, valueLine: line });
    } else if (section in NPM_SECTIONS) pairs.push({ section, key, value, line, valueLine: line });
  }
  return pairs;
}

export const packageJson: ManifestKind = {
  ecosystem: "npm",
  label: "package.json",
  matches: (path) => base(path) === "package.json" && !/(^|\/)node_modules\//.test(path),
  parse(lines, whole) {
    const pairs = whole ? jsonPairsAtDepthTwo(lines).filter((pair) => pair.section in NPM_SECTIONS) : npmFragment(lines);
    return pairs.map((pair) =>
      dependency("npm", {
        name: pair.key,
        version: pair.value,
        section: pair.section,
        kind: NPM_SECTIONS[pair.section] ?? "runtime",
        line: pair.line,
        versionLine: pair.valueLine,
        source: npmSource(pair.value),
      }),
    );
  },
  lockfiles: () => ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock"],
  lockfileScope: "ancestors",
  lockCommand: "npm install (or yarn, pnpm install, bun install: whichever the repository uses)",
  lockRisk: "`npm ci` and frozen pnpm, yarn or bun installs fail on the mismatch, and other installs resolve whatever versions are newest that day instead of ones reviewed here.",
};

// ---------------------------------------------------------------------------------------------
// PEP 508 requirement strings (requirements files, pyproject.toml arrays)

const PEP508 = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/;

/** A requirement's name and specifier; null when the text is not a requirement (prose, options). */
function pep508(text: string): { name: string; version: string; source: Dependency["source"] } | null {
  const match = PEP508.exec(text);
  if (!match) return null;
  const rest = match[3]!.split(";")[0]!.trim();
  if (rest.startsWith("@")) {
    const url = rest.slice(1).trim();
    return { name: match[1]!, version: url, source: /^git\+|\.git(@|$)/.test(url) ? "git" : /^file:/.test(url) ? "local" : "url" };
  }
  const version = rest.replace(/^\((.*)\)$/, "$1").trim();
  if (version && !/^(===|==|~=|>=|<=|!=|>|<)/.test(version)) return null;
  return { name: match[1]!, version, source: "registry" };
}

// ---------------------------------------------------------------------------------------------
// requirements*.txt / requirements*.in

const DEV_NAME = /(^|[^a-z])(dev|develop|development|test|tests|testing|lint|docs?|ci|typing|types|style|qa|check)([^a-z]|$)/i;

function isRequirementsPath(path: string): boolean {
  return /^requirements[^/]*\.(txt|in)$/.test(base(path)) || /(^|\/)requirements\/[^/]+\.(txt|in)$/.test(path);
}

/** A file pip-compile or uv wrote: itself a lockfile, so its entries are transitive pins, not choices. */
const isCompiledRequirements = (text: string) => /autogenerated by pip-compile|uv pip compile|pip-compile --/.test(text.split("\n").slice(0, 12).join("\n"));

export const requirementsTxt: ManifestKind = {
  ecosystem: "pypi",
  label: "requirements file",
  matches: isRequirementsPath,
  parse(lines, _whole, path) {
    if (isCompiledRequirements(lines.map((line) => line.text).join("\n"))) return [];
    const kind: DependencyKind = DEV_NAME.test(path.replace(/^.*requirements/, "")) ? "dev" : "runtime";
    const deps: Dependency[] = [];
    let continued = false;
    for (const { line, text } of lines) {
      const wasContinued = continued;
      continued = /\\\s*$/.test(text);
      if (wasContinued) continue;
      const code = text.replace(/(^|\s)#.*$/, "").replace(/\\\s*$/, "").trim();
      if (!code || code.startsWith("-") || /^[./]|^[a-z+]+:\/\//i.test(code)) continue;
      const requirement = pep508(code.replace(/\s--hash=\S+/g, ""));
      if (requirement) deps.push(dependency("pypi", { ...requirement, section: base(path), kind, line }));
    }
    return deps;
  },
  lockfiles: (path) => (path.endsWith(".in") ? [base(path).replace(/\.in$/, ".txt")] : []),
  lockfileScope: "same-dir",
  lockCommand: "pip-compile (or uv pip compile)",
  lockRisk: "The compiled requirements no longer match what the .in file asks for, so installs do not get the versions reviewed here.",
};

// ---------------------------------------------------------------------------------------------
// TOML, line by line: enough of it for pyproject.toml and Cargo.toml.

type TomlEvent =
  | { type: "table"; table: string[]; line: number }
  | { type: "value"; table: string[] | null; key: string[]; line: number; text: string | null; fields: Record<string, string> | null }
  | { type: "item"; table: string[] | null; key: string[] | null; line: number; text: string };

/** Splits a TOML line into code (strings replaced by `\uE000N`, a private-use placeholder) and the strings; notes an unclosed `"""`. */
function tomlLine(text: string): { code: string; strings: string[]; opensMultiline: string | null } {
  let code = "";
  const strings: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "#") break;
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let end = i + quote.length;
      let value = "";
      while (end < text.length && !text.startsWith(quote, end)) {
        if (c === '"' && text[end] === "\\") {
          value += text[end + 1] ?? "";
          end += 2;
        } else value += text[end++];
      }
      if (end >= text.length && triple) return { code: code + `\uE000${strings.length}`, strings: [...strings, value], opensMultiline: quote };
      code += `\uE000${strings.length}`;
      strings.push(value);
      i = end + quote.length;
      continue;
    }
    code += c;
    i++;
  }
  return { code, strings, opensMultiline: null };
}

const KEY_PART = String.raw`(?:[A-Za-z0-9_-]+|\uE000\d+)`;
const KEY = new RegExp(String.raw`^\s*(${KEY_PART}(?:\s*\.\s*${KEY_PART})*)\s*=\s*(.*)$`);

function tomlKey(raw: string, strings: readonly string[]): string[] {
  return raw.split(".").map((part) => {
    const trimmed = part.trim();
    const placeholder = /^\uE000(\d+)$/.exec(trimmed);
    return placeholder ? strings[Number(placeholder[1])]! : trimmed;
  });
}

/** Strings of a code fragment that are array items (not inside an inline table). */
function arrayItems(code: string, strings: readonly string[]): string[] {
  const items: string[] = [];
  let braces = 0;
  for (const match of code.matchAll(/[{}]|\uE000(\d+)/g)) {
    if (match[0] === "{") braces++;
    else if (match[0] === "}") braces--;
    else if (braces === 0) items.push(strings[Number(match[1])]!);
  }
  return items;
}

function bracketBalance(code: string): number {
  let balance = 0;
  for (const c of code) {
    if (c === "[") balance++;
    else if (c === "]") balance--;
  }
  return balance;
}

function tomlEvents(lines: readonly NumberedLine[], whole: boolean): TomlEvent[] {
  const events: TomlEvent[] = [];
  let table: string[] | null = whole ? [] : null;
  let array: { key: string[] | null; balance: number } | null = null;
  let multiline: string | null = null;
  for (const { line, text } of lines) {
    if (multiline) {
      if (text.includes(multiline)) multiline = null;
      continue;
    }
    const { code, strings, opensMultiline } = tomlLine(text);
    multiline = opensMultiline;
    if (array) {
      for (const item of arrayItems(code, strings)) events.push({ type: "item", table, key: array.key, line, text: item });
      array.balance += bracketBalance(code);
      if (array.balance <= 0) array = null;
      continue;
    }
    const trimmed = code.trim();
    if (trimmed.startsWith("[") && trimmed.endsWith("]") && trimmed.length > 2) {
      table = tomlKey(trimmed.replace(/^\[\[?/, "").replace(/\]\]?$/, ""), strings);
      events.push({ type: "table", table, line });
      continue;
    }
    const pair = KEY.exec(code);
    if (pair) {
      const key = tomlKey(pair[1]!, strings);
      const value = pair[2]!.trim();
      if (value.startsWith("[")) {
        for (const item of arrayItems(value, strings)) events.push({ type: "item", table, key, line, text: item });
        const balance = bracketBalance(value);
        if (balance > 0) array = { key, balance };
        continue;
      }
      const scalar = /^\uE000(\d+)$/.exec(value);
      let fields: Record<string, string> | null = null;
      if (value.startsWith("{")) {
        fields = {};
        for (const field of value.matchAll(new RegExp(String.raw`(${KEY_PART})\s*=\s*(\uE000\d+|true|false|[\w.+-]+)`, "g"))) {
          const raw = field[2]!;
          const placeholder = /^\uE000(\d+)$/.exec(raw);
          fields[tomlKey(field[1]!, strings).join(".")] = placeholder ? strings[Number(placeholder[1])]! : raw;
        }
      }
      events.push({ type: "value", table, key, line, text: scalar ? strings[Number(scalar[1])]! : null, fields });
      continue;
    }
    // A fragment may start inside an array whose opening line is outside the hunk.
    if (!whole && table === null && /^\s*\uE000\d+\s*(?:,\s*)?$/.test(code)) events.push({ type: "item", table: null, key: null, line, text: strings[0]! });
  }
  return events;
}

/** A dependency written as a TOML value or inline table (`x = "1.2"`, `x = { version = "1.2", git = … }`). */
function tomlDependency(value: { text: string | null; fields: Record<string, string> | null }): { version: string; source: Dependency["source"]; rename?: string } | null {
  if (value.text !== null) return { version: value.text, source: "registry" };
  const fields = value.fields;
  if (!fields) return null;
  const source: Dependency["source"] = fields.git ? "git" : fields.url ? "url" : fields.path && !fields.version ? "local" : "registry";
  const version = fields.version ?? (fields.workspace === "true" ? "workspace" : fields.git ? (fields.tag ?? fields.rev ?? fields.branch ?? "") : "");
  return { version, source, ...(fields.package ? { rename: fields.package } : {}) };
}

/**
 * Dependencies from TOML tables: `sectionOf(table)` names the section a table's keys declare
 * (null: not a dependency table), for plain entries and for `[section.name]` table form.
 */
function tomlTableDependencies(
  ecosystem: Ecosystem,
  events: readonly TomlEvent[],
  sectionOf: (table: readonly string[]) => { section: string; kind: DependencyKind } | null,
  skip: (name: string) => boolean,
): Dependency[] {
  const deps: Dependency[] = [];
  let tableDep: Dependency | null = null;
  for (const event of events) {
    if (event.type === "table") {
      tableDep = null;
      const parent = event.table.length > 1 ? sectionOf(event.table.slice(0, -1)) : null;
      const name = event.table[event.table.length - 1]!;
      if (parent && !skip(name)) {
        tableDep = dependency(ecosystem, { name, version: "", section: parent.section, kind: parent.kind, line: event.line });
        deps.push(tableDep);
      }
      continue;
    }
    if (event.type !== "value" || event.table === null) continue;
    if (tableDep) {
      const field = event.key.join(".");
      if (field === "version" && event.text !== null) Object.assign(tableDep, { version: event.text, versionLine: event.line });
      else if (field === "package" && event.text !== null) tableDep.id = dependencyId(ecosystem, event.text);
      else if (field === "git") tableDep.source = "git";
      else if (field === "path" && !tableDep.version) tableDep.source = "local";
      else if (field === "workspace" && !tableDep.version) tableDep.version = "workspace";
      continue;
    }
    const section = sectionOf(event.table);
    if (!section || skip(event.key[0]!)) continue;
    const name = event.key[0]!;
    let parsed = tomlDependency(event);
    if (event.key.length === 2 && event.key[1] === "version" && event.text !== null) parsed = { version: event.text, source: "registry" };
    if (!parsed) continue;
    const dep = dependency(ecosystem, { name, version: parsed.version, section: section.section, kind: section.kind, line: event.line, source: parsed.source });
    if (parsed.rename) dep.id = dependencyId(ecosystem, parsed.rename);
    deps.push(dep);
  }
  return deps;
}

// ---------------------------------------------------------------------------------------------
// pyproject.toml: PEP 621 [project], PEP 735 [dependency-groups], Poetry

const PYPROJECT_NOT_DEPENDENCIES = new Set(["name", "version", "description", "readme", "license", "requires-python", "python", "authors", "maintainers", "keywords", "classifiers", "packages", "include", "exclude", "homepage", "repository", "documentation"]);

function poetrySection(table: readonly string[]): { section: string; kind: DependencyKind } | null {
  const joined = table.join(".");
  if (joined === "tool.poetry.dependencies") return { section: joined, kind: "runtime" };
  if (joined === "tool.poetry.dev-dependencies") return { section: joined, kind: "dev" };
  const group = /^tool\.poetry\.group\.([^.]+)\.dependencies$/.exec(joined);
  if (group) return { section: joined, kind: group[1] === "main" ? "runtime" : "dev" };
  return null;
}

export const pyprojectToml: ManifestKind = {
  ecosystem: "pypi",
  label: "pyproject.toml",
  matches: (path) => base(path) === "pyproject.toml",
  parse(lines, whole) {
    const events = tomlEvents(lines, whole);
    const deps = tomlTableDependencies("pypi", events, poetrySection, (name) => name === "python");
    for (const event of events) {
      if (event.type === "item") {
        let section: { section: string; kind: DependencyKind } | null = null;
        const table = event.table?.join(".") ?? null;
        const key = event.key?.join(".") ?? null;
        if (table === "project" && key === "dependencies") section = { section: "project.dependencies", kind: "runtime" };
        else if (table === "project.optional-dependencies" && key) section = { section: `project.optional-dependencies.${key}`, kind: DEV_NAME.test(key) ? "dev" : "optional" };
        else if (table === "dependency-groups" && key) section = { section: `dependency-groups.${key}`, kind: "dev" };
        else if (table === null && (key === null || key === "dependencies")) section = { section: "unknown", kind: "runtime" };
        else if (table === null && key && DEV_NAME.test(key)) section = { section: "unknown", kind: "dev" };
        if (!section) continue;
        const requirement = pep508(event.text);
        if (requirement && (table !== null || requirement.version)) deps.push(dependency("pypi", { ...requirement, ...section, line: event.line }));
      } else if (event.type === "value" && event.table === null && event.key.length === 1 && !PYPROJECT_NOT_DEPENDENCIES.has(event.key[0]!)) {
        // A Poetry entry whose table header is outside the fragment.
        const parsed = tomlDependency(event);
        if (parsed && (parsed.source !== "registry" || /^[\^~=<>*\d]/.test(parsed.version))) {
          deps.push(dependency("pypi", { name: event.key[0]!, version: parsed.version, section: "unknown", kind: "runtime", line: event.line, source: parsed.source }));
        }
      }
    }
    return deps.sort((a, b) => a.line - b.line);
  },
  lockfiles(_path, text) {
    const tools = [...text.matchAll(/^[ \t]*\[[ \t]*tool\.(poetry|pdm|uv)\b/gm)].map((match) => match[1]);
    if (!tools.length) return [];
    // Any of them counts: a project may move between tools.
    return ["poetry.lock", "pdm.lock", "uv.lock"];
  },
  lockfileScope: "ancestors",
  lockCommand: "poetry lock (or uv lock, pdm lock: whichever the project uses)",
  lockRisk: "`poetry install` and `uv sync --locked` refuse an outdated lockfile, and other installs resolve versions nobody reviewed.",
};

// ---------------------------------------------------------------------------------------------
// Cargo.toml

const CARGO_NOT_DEPENDENCIES = new Set(["name", "version", "edition", "authors", "description", "license", "license-file", "repository", "homepage", "documentation", "readme", "rust-version", "keywords", "categories", "publish", "build", "exclude", "include", "workspace", "resolver", "members", "default-members", "links", "autobins", "autoexamples", "autotests", "autobenches", "default-run"]);

function cargoSection(table: readonly string[]): { section: string; kind: DependencyKind } | null {
  const last = table[table.length - 1];
  const kinds: Record<string, DependencyKind> = {
    dependencies: "runtime",
    "dev-dependencies": "dev",
    dev_dependencies: "dev",
    "build-dependencies": "build",
    build_dependencies: "build",
  };
  if (!last || !(last in kinds)) return null;
  const prefix = table.slice(0, -1);
  if (prefix.length === 0 || (prefix.length === 1 && prefix[0] === "workspace") || (prefix.length === 2 && prefix[0] === "target")) {
    return { section: table.join("."), kind: kinds[last]! };
  }
  return null;
}

export const cargoToml: ManifestKind = {
  ecosystem: "cargo",
  label: "Cargo.toml",
  matches: (path) => base(path) === "Cargo.toml",
  parse(lines, whole) {
    const events = tomlEvents(lines, whole);
    const deps = tomlTableDependencies("cargo", events, cargoSection, () => false);
    if (!whole) {
      for (const event of events) {
        if (event.type !== "value" || event.table !== null || event.key.length !== 1 || CARGO_NOT_DEPENDENCIES.has(event.key[0]!)) continue;
        const parsed = tomlDependency(event);
        if (!parsed || (parsed.source === "registry" && !/^[\^~=<>*\d]|^workspace$/.test(parsed.version))) continue;
        const dep = dependency("cargo", { name: event.key[0]!, version: parsed.version, section: "unknown", kind: "runtime", line: event.line, source: parsed.source });
        if (parsed.rename) dep.id = dependencyId("cargo", parsed.rename);
        deps.push(dep);
      }
    }
    return deps.sort((a, b) => a.line - b.line);
  },
  lockfiles: () => ["Cargo.lock"],
  lockfileScope: "ancestors",
  lockCommand: "cargo update --workspace (or any cargo build)",
  lockRisk: "`cargo build --locked` fails, and other builds resolve versions nobody reviewed.",
};

// ---------------------------------------------------------------------------------------------
// go.mod

export const goMod: ManifestKind = {
  ecosystem: "go",
  label: "go.mod",
  matches: (path) => base(path) === "go.mod",
  parse(lines, whole) {
    const deps: Dependency[] = [];
    let block: "require" | "other" | null = whole ? "other" : null;
    let inBlock = false;
    const requirement = (text: string) => /^\s*([^\s/()][^\s()]*)\s+(v\d[^\s]*)\s*(\/\/.*)?$/.exec(text);
    for (const { line, text } of lines) {
      const opener = /^\s*(require|replace|exclude|retract|tool|godebug)\s*\(\s*(\/\/.*)?$/.exec(text);
      if (opener) {
        block = opener[1] === "require" ? "require" : "other";
        inBlock = true;
        continue;
      }
      if (/^\s*\)\s*$/.test(text)) {
        block = "other";
        inBlock = false;
        continue;
      }
      const single = /^\s*require\s+(.*)$/.exec(text);
      const match = single ? requirement(single[1]!) : (inBlock && block === "require") || block === null ? requirement(text) : null;
      if (!match || text.includes("=>")) continue;
      deps.push(
        dependency("go", {
          name: match[1]!,
          version: match[2]!,
          section: block === null && !single ? "unknown" : "require",
          kind: "runtime",
          line,
          indirect: /\bindirect\b/.test(match[3] ?? ""),
        }),
      );
    }
    return deps;
  },
  lockfiles: () => ["go.sum"],
  lockfileScope: "same-dir",
  lockCommand: "go mod tidy",
  lockRisk: "Builds stop with \"missing go.sum entry\" until someone runs go mod tidy, and the checksums of the new module versions are never reviewed.",
};

export const MANIFEST_KINDS: readonly ManifestKind[] = [packageJson, requirementsTxt, pyprojectToml, cargoToml, goMod];

export function manifestKind(path: string): ManifestKind | undefined {
  return MANIFEST_KINDS.find((kind) => kind.matches(path));
}
