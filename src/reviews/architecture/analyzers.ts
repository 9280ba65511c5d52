// Deterministic architecture analyzers: layer rules from the repository's config and new import
// cycles. They only look at imports this diff adds; what was already there is not re-reported.
import picomatch from "picomatch";
import type { Analyzer, AnalyzerInput } from "../analyzer.js";
import type { DiffFile } from "../diff.js";
import { FindingSet } from "../finding.js";
import { reviewableFiles } from "../security/support.js";
import { lineRuns, previousContent } from "./diff-helpers.js";
import { buildImportGraph, cycleKey, describeCycle, runtimePath } from "./graph.js";
import { candidatePaths, importLanguage, isRelativeSpecifier, parseImports, resolveImport } from "./imports.js";
import type { ImportRef } from "./imports.js";

/** An import the diff adds (or turns from type-only into a runtime import). */
export interface AddedImport {
  path: string;
  ref: ImportRef;
  /** The added line to report on: the first added line of the statement. */
  line: number;
  /** The known file it resolves to, else null (a package, or a file the review does not have). */
  resolved: string | null;
  /** The file did not import this target before. */
  isNew: boolean;
  /** A runtime import of a target that was not imported at runtime before. */
  isNewRuntime: boolean;
}

/** Existence as far as the review knows it: files it has contents for, and changed files that still exist. */
/** Per analyzer input, so that both architecture analyzers share one `exists` and what is derived with it. */
const knownPathsOf = new WeakMap<AnalyzerInput, (path: string) => boolean>();
const addedImportsOf = new WeakMap<(path: string) => boolean, WeakMap<DiffFile, AddedImport[]>>();

export function knownPaths(input: AnalyzerInput): (path: string) => boolean {
  let exists = knownPathsOf.get(input);
  if (!exists) {
    exists = pathsOf(input);
    knownPathsOf.set(input, exists);
  }
  return exists;
}

function pathsOf(input: AnalyzerInput): (path: string) => boolean {
  const deleted = new Set(input.diff.files.filter((file) => file.status === "deleted").map((file) => file.path));
  const live = new Set(input.diff.files.filter((file) => file.status !== "deleted").map((file) => file.path));
  return (path) => !deleted.has(path) && (live.has(path) || input.files.has(path));
}

/** What an import points at, for comparing before and after: the file, else the normalised specifier. */
function targetKey(fromPath: string, specifier: string, exists: (path: string) => boolean): string {
  const resolved = resolveImport(fromPath, specifier, exists);
  if (resolved) return `file:${resolved}`;
  return `spec:${isRelativeSpecifier(fromPath, specifier) ? (candidatePaths(fromPath, specifier)[0] ?? specifier) : specifier}`;
}

/** Imports parsed from runs of diff lines, with their lines mapped back to the file. */
function importsInRuns(path: string, lines: DiffFile["added"]): ImportRef[] {
  return lineRuns(lines).flatMap((run) =>
    parseImports(path, run.text).map((ref) => ({ ...ref, line: run.lineAt(ref.line), endLine: run.lineAt(ref.endLine) })),
  );
}

/** The imports a diff file adds, in source order (worked out once per file and `exists`). */
export function addedImports(file: DiffFile, input: AnalyzerInput, exists: (path: string) => boolean): AddedImport[] {
  let files = addedImportsOf.get(exists);
  if (!files) addedImportsOf.set(exists, (files = new WeakMap()));
  let imports = files.get(file);
  if (!imports) files.set(file, (imports = readAddedImports(file, input, exists)));
  return imports;
}

function readAddedImports(file: DiffFile, input: AnalyzerInput, exists: (path: string) => boolean): AddedImport[] {
  if (file.status === "deleted" || file.binary || !importLanguage(file.path)) return [];
  const { added, removed } = file;
  const addedAt = new Set(added.map((line) => line.line));
  const content = input.files.get(file.path);
  const oldPath = file.previousPath ?? file.path;
  let refs: ImportRef[];
  let oldRefs: ImportRef[];
  if (content !== undefined) {
    refs = parseImports(file.path, content);
    const previous = file.status === "added" ? "" : previousContent(file, content);
    oldRefs = previous !== null ? parseImports(oldPath, previous) : importsInRuns(oldPath, removed);
  } else {
    refs = importsInRuns(file.path, added);
    oldRefs = importsInRuns(oldPath, removed);
  }
  /** target → whether every earlier import of it was type-only. */
  const before = new Map<string, boolean>();
  for (const ref of oldRefs) {
    const key = targetKey(oldPath, ref.specifier, exists);
    before.set(key, (before.get(key) ?? true) && ref.typeOnly);
  }
  const result: AddedImport[] = [];
  for (const ref of refs) {
    let line = 0;
    for (let at = ref.line; at <= ref.endLine; at++) {
      if (addedAt.has(at)) {
        line = at;
        break;
      }
    }
    if (!line) continue;
    const key = targetKey(file.path, ref.specifier, exists);
    const typeOnlyBefore = before.get(key);
    const isNew = typeOnlyBefore === undefined;
    const isNewRuntime = !ref.typeOnly && (isNew || typeOnlyBefore === true);
    if (!isNew && !isNewRuntime) continue;
    result.push({ path: file.path, ref, line, resolved: resolveImport(file.path, ref.specifier, exists), isNew, isNewRuntime });
  }
  return result;
}

/** The names an import is checked against: the file it resolves to, else every path it may name, and the specifier. */
function importedNames(imported: AddedImport): string[] {
  const { path, ref, resolved } = imported;
  const names = resolved ? [resolved] : candidatePaths(path, ref.specifier);
  if (!isRelativeSpecifier(path, ref.specifier)) {
    names.push(ref.specifier);
    if (importLanguage(path) === "js") {
      const bare = /^(@[^/]+\/[^/]+|[^/]+)/.exec(ref.specifier)?.[1];
      if (bare) names.push(bare);
    }
  }
  return [...new Set(names)];
}

const sentence = (text: string) => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

const LAYER_RULE = "architecture/layer-violation";
const CYCLE_RULE = "architecture/import-cycle";

export const layerViolations: Analyzer = {
  angle: "architecture",
  rule: LAYER_RULE,
  description: "An added import breaks a layer rule from review.layers: a file matching `from` imports a file or package matching `mayNotImport`.",
  run(input) {
    const layers = input.config.review.layers.map((layer) => ({
      ...layer,
      isFrom: picomatch(layer.from, { dot: true }),
      forbidden: layer.mayNotImport.map((glob) => ({ glob, matches: picomatch(glob, { dot: true }) })),
    }));
    if (!layers.length) return [];
    const exists = knownPaths(input);
    const found = new FindingSet(LAYER_RULE, { repeats: "merge" });
    for (const file of reviewableFiles(input.diff)) {
      const rules = layers.filter((layer) => layer.isFrom(file.path));
      if (!rules.length) continue;
      for (const imported of addedImports(file, input, exists)) {
        if (!imported.isNew) continue;
        const names = importedNames(imported);
        for (const rule of rules) {
          const hit = rule.forbidden.find((forbidden) => names.some((name) => forbidden.matches(name)));
          if (!hit) continue;
          const target = imported.resolved ?? names.find((name) => hit.matches(name)) ?? imported.ref.specifier;
          found.add(file.path, imported.line, {
            severity: "major",
            title: `Layer violation: ${rule.from} may not import ${target}`,
            rationale:
              `${file.path} imports \`${imported.ref.specifier}\`${imported.resolved && imported.resolved !== imported.ref.specifier ? ` (${imported.resolved})` : ""}, ` +
              `which matches \`${hit.glob}\`: files matching \`${rule.from}\` may not import it (review.layers in .github/conveyor.yml).` +
              (rule.because ? ` The rule exists because: ${sentence(rule.because)}` : "") +
              (imported.ref.typeOnly ? " A type-only import still couples the layers at compile time." : ""),
            suggestion:
              "Depend on something this layer owns (an interface or port that the outer layer implements and passes in), or move the code to a layer that may use it. If the rule itself is wrong, change review.layers in a separate, reviewed change.",
          });
        }
      }
    }
    return found.findings;
  },
};

export const importCycles: Analyzer = {
  angle: "architecture",
  rule: CYCLE_RULE,
  description: "An added runtime import closes an import cycle among the files the review has (JS/TS and Python; type-only imports do not count).",
  run(input) {
    const exists = knownPaths(input);
    const deleted = new Set(input.diff.files.filter((file) => file.status === "deleted").map((file) => file.path));
    const graph = new Map(buildImportGraph(new Map([...input.files].filter(([path]) => !deleted.has(path))), exists));
    const changed = reviewableFiles(input.diff).map((file) => ({ file, imports: addedImports(file, input, exists) }));
    // A changed file whose content the review lacks still contributes the imports its added lines show.
    for (const { file, imports } of changed) {
      if (graph.has(file.path) || !importLanguage(file.path)) continue;
      graph.set(
        file.path,
        imports.flatMap((imported) => (imported.resolved ? [{ from: file.path, to: imported.resolved, ref: imported.ref }] : [])),
      );
    }
    const found = new FindingSet(CYCLE_RULE, { repeats: "merge" });
    const reported = new Set<string>();
    for (const { file, imports } of changed) {
      for (const imported of imports) {
        if (!imported.isNewRuntime || !imported.resolved || !importLanguage(imported.resolved)) continue;
        const back = runtimePath(graph, imported.resolved, file.path);
        if (!back) continue;
        const cycle = [file.path, ...back];
        const key = cycleKey(cycle);
        if (reported.has(key)) continue;
        reported.add(key);
        const chain = cycle.slice(0, -1).map((from, index) => `${from} imports ${cycle[index + 1]}`);
        found.add(file.path, imported.line, {
          severity: "major",
          title: `Import cycle: ${describeCycle(cycle)}`,
          rationale:
            `This import closes a cycle: ${chain.join(", ")}. ` +
            "Modules in a cycle are evaluated in an order that depends on which one is loaded first, so a value read while the modules load can be undefined " +
            "(ESM temporal-dead-zone errors, half-initialised CommonJS or Python modules), and none of them can be understood, tested or moved on its own.",
          suggestion:
            "Move what both sides need into a module that neither imports from, pass the dependency in instead of importing it, or import only types (`import type`, `if TYPE_CHECKING:`) when only types are needed.",
        });
      }
    }
    return found.findings;
  },
};

export const architectureAnalyzers: Analyzer[] = [layerViolations, importCycles];
