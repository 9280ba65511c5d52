// Deterministic techstack analyzers: what a change does to the project's dependencies, read from
// the manifests it touches (package.json, requirements*.txt, pyproject.toml, go.mod, Cargo.toml).
import { posix } from "node:path";
import type { Analyzer, AnalyzerInput } from "../analyzer.js";
import type { DiffFile } from "../diff.js";
import { FindingSet } from "../finding.js";
import { hunkSides, previousContent } from "../architecture/diff-helpers.js";
import { reviewableFiles } from "../security/support.js";
import { purposeOf, retired } from "./catalog.js";
import { manifestKind, numbered } from "./manifests.js";
import type { Dependency, DependencyKind, ManifestKind } from "./manifests.js";
import { describeLine, isMajorBump } from "./versions.js";

/** One changed manifest: its dependencies before and after the change. */
export interface ManifestChange {
  file: DiffFile;
  kind: ManifestKind;
  before: Dependency[];
  after: Dependency[];
  /** New-file lines the diff adds. */
  addedAt: ReadonlySet<number>;
  /** Whole files were compared; otherwise only the diff's hunks were (the new content was not available). */
  whole: boolean;
  /** The new content, or the hunks' new side when it is not available. */
  text: string;
}

/** Per analyzer input: each techstack analyzer reads the manifests, parsed once. */
const parsedManifests = new WeakMap<AnalyzerInput, ManifestChange[]>();

/** The manifests a change touches, with their dependencies before and after (parsed once per input). */
export function manifestChanges(input: AnalyzerInput): ManifestChange[] {
  let changes = parsedManifests.get(input);
  if (!changes) {
    changes = readManifestChanges(input);
    parsedManifests.set(input, changes);
  }
  return changes;
}

function readManifestChanges(input: AnalyzerInput): ManifestChange[] {
  const changes: ManifestChange[] = [];
  for (const file of reviewableFiles(input.diff)) {
    const kind = manifestKind(file.path);
    if (!kind) continue;
    const { added, removed } = file;
    if (!added.length && !removed.length) continue;
    const addedAt = new Set(added.map((line) => line.line));
    const oldPath = file.previousPath ?? file.path;
    const content = input.files.get(file.path);
    const previous = content === undefined ? null : file.status === "added" ? "" : previousContent(file, content);
    if (content !== undefined && previous !== null) {
      changes.push({
        file,
        kind,
        before: kind.parse(numbered(previous), true, oldPath),
        after: kind.parse(numbered(content), true, file.path),
        addedAt,
        whole: true,
        text: content,
      });
      continue;
    }
    const sides = hunkSides(file);
    changes.push({
      file,
      kind,
      before: sides.before.flatMap((lines) => kind.parse(lines, file.status === "added", oldPath)),
      after: sides.after.flatMap((lines) => kind.parse(lines, file.status === "added", file.path)),
      addedAt,
      whole: false,
      text: sides.after.map((lines) => lines.map((line) => line.text).join("\n")).join("\n"),
    });
  }
  return changes;
}

/** Dependencies this change adds to a manifest (named on an added line, absent before), from a registry or a remote source. */
export function addedDependencies(change: ManifestChange): Dependency[] {
  const before = new Set(change.before.map((dep) => dep.id));
  return change.after.filter((dep) => !dep.indirect && dep.source !== "local" && change.addedAt.has(dep.line) && !before.has(dep.id));
}

const KIND_WORD: Record<DependencyKind, string> = { runtime: "runtime", dev: "development", peer: "peer", optional: "optional", build: "build" };
const isDev = (dep: Dependency) => dep.kind === "dev";
const spec = (dep: Dependency) => (dep.version ? ` ${dep.version}` : "");
const list = (names: string[], conjunction = "and") => (names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} ${conjunction} ${names[names.length - 1]}`);
const where = (dep: Dependency, change: ManifestChange) => (dep.section === "unknown" ? change.file.path : `${dep.section} of ${change.file.path}`);

const NEW = "techstack/new-dependency";
const DUPLICATE = "techstack/duplicate-purpose";
const BUMP = "techstack/major-version-bump";
const LOCKFILE = "techstack/lockfile-not-updated";
const RETIRED = "techstack/deprecated-dependency";

export const newDependencies: Analyzer = {
  angle: "techstack",
  rule: NEW,
  description: "A dependency is added to a manifest (package.json, requirements*.txt, pyproject.toml, go.mod, Cargo.toml): major for runtime, minor for development dependencies.",
  run(input) {
    const found = new FindingSet(NEW, { repeats: "merge" });
    for (const change of manifestChanges(input)) {
      for (const dep of addedDependencies(change)) {
        const remote = dep.source === "git" ? " It comes from a git repository, not a registry release: nothing pins what a branch or tag will contain next time." : dep.source === "url" ? " It comes from a URL, not a registry release." : "";
        const unknown = dep.section === "unknown" ? " (The section it belongs to is outside the diff, so it is treated as a runtime dependency.)" : "";
        found.add(change.file.path, dep.line, {
          severity: isDev(dep) ? "minor" : "major",
          title: `New ${KIND_WORD[dep.kind]} dependency: ${dep.name}${spec(dep)}`,
          rationale: isDev(dep)
            ? `${dep.name} becomes a development dependency (${where(dep, change)}). It does not ship, but it runs on developers' machines and in CI, with their credentials, on every install.${remote}`
            : `${dep.name} becomes a ${KIND_WORD[dep.kind]} dependency (${where(dep, change)}). It ships with the project and runs with its privileges, and every future release of it and of its own dependencies is code this project trusts.${remote}${unknown}`,
          suggestion: `Confirm that ${dep.name} is needed (the standard library or an existing dependency may already cover it), actively maintained, licence-compatible and of reasonable size, and that the lockfile pins it.`,
        });
      }
    }
    return found.findings;
  },
};

export const duplicatePurpose: Analyzer = {
  angle: "techstack",
  rule: DUPLICATE,
  description: "A new dependency does the same job as one the manifest already has (two HTTP clients, two date libraries, two test runners, two loggers…).",
  run(input) {
    const found = new FindingSet(DUPLICATE, { repeats: "merge" });
    for (const change of manifestChanges(input)) {
      const added = addedDependencies(change);
      const addedIds = new Set(added.map((dep) => dep.id));
      for (const dep of added) {
        const group = purposeOf(change.kind.ecosystem, dep.id);
        if (!group) continue;
        const others = change.after.filter((other) => !other.indirect && other.id !== dep.id && purposeOf(change.kind.ecosystem, other.id) === group);
        const existing = others.filter((other) => !addedIds.has(other.id));
        // When every member is new, the first one added is the choice and the others duplicate it.
        const earlierNew = others.filter((other) => addedIds.has(other.id) && other.line < dep.line);
        const duplicated = existing.length ? existing : earlierNew;
        if (!duplicated.length) continue;
        const names = [...new Set(duplicated.map((other) => other.name))];
        found.add(change.file.path, dep.line, {
          severity: "major",
          title: `${dep.name} duplicates ${list(names)} (${group.purpose})`,
          rationale: `${change.file.path} already depends on ${list(names)} for the same job (${group.purpose}). Two libraries for one purpose mean two APIs and sets of conventions in one codebase, twice the advisories and upgrades to follow, and more to install or bundle.`,
          suggestion: `Use ${list(names)} instead, or, if ${dep.name} is the better choice, migrate to it in this change and remove ${list(names)}.`,
        });
      }
    }
    return found.findings;
  },
};

export const majorVersionBumps: Analyzer = {
  angle: "techstack",
  rule: BUMP,
  description: "A dependency's version moves to a new major version (or a new 0.x minor, which semver treats as breaking).",
  run(input) {
    const found = new FindingSet(BUMP, { repeats: "merge" });
    for (const change of manifestChanges(input)) {
      const ecosystem = change.kind.ecosystem;
      for (const dep of change.after) {
        if (dep.indirect || !dep.version || !change.addedAt.has(dep.versionLine)) continue;
        const olds = change.before.filter((old) => old.id === dep.id && old.version);
        const old = olds.find((candidate) => candidate.section === dep.section) ?? olds[0];
        if (!old || old.version === dep.version) continue;
        const bump = isMajorBump(old.version, dep.version, ecosystem);
        if (!bump) continue;
        const bumped = old.name === dep.name ? `${dep.name} ${old.version} → ${dep.version}` : `${old.name} ${old.version} → ${dep.name} ${dep.version}`;
        found.add(change.file.path, dep.versionLine, {
          severity: "major",
          title: `Major version bump: ${bumped}`,
          rationale:
            `${dep.name} moves from the ${describeLine(bump.from)}.x line to the ${describeLine(bump.to)}.x line. Under semver a new major version (or, below 1.0, a new minor version) may remove or change APIs and behaviour: ` +
            "the install succeeds, and the breakage shows up where the code uses it.",
          suggestion: `Read ${dep.name}'s changelog or migration guide for every version in between, update the code that uses it, and make sure tests exercise those paths. Keep the upgrade in its own change when it is not what this change is about.`,
        });
      }
    }
    return found.findings;
  },
};

/** A path's directory, "" at the repository root. */
const dirOf = (path: string) => (posix.dirname(path) === "." ? "" : posix.dirname(path));

/** Directories where a manifest's lockfile may be: its own, and its parents when the lockfile serves a workspace. */
function lockfileDirs(path: string, scope: ManifestKind["lockfileScope"]): string[] {
  const dir = dirOf(path);
  if (scope === "same-dir") return [dir];
  const dirs = [dir];
  for (let at = dir; at; ) {
    at = dirOf(at);
    dirs.push(at);
  }
  return dirs;
}

export const lockfileNotUpdated: Analyzer = {
  angle: "techstack",
  rule: LOCKFILE,
  description: "A manifest's dependencies change but its lockfile (package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lockb, poetry.lock, Cargo.lock, go.sum…) is not part of the change.",
  run(input) {
    const found = new FindingSet(LOCKFILE, { repeats: "merge" });
    const changedPaths = input.diff.files.map((file) => file.path);
    for (const change of manifestChanges(input)) {
      const lockfiles = change.kind.lockfiles(change.file.path, change.text);
      if (!lockfiles.length) continue;
      const dirs = lockfileDirs(change.file.path, change.kind.lockfileScope);
      const updated = changedPaths.some((path) => lockfiles.includes(posix.basename(path)) && dirs.includes(dirOf(path)));
      if (updated) continue;
      const signature = (dep: Dependency) => [dep.section, dep.id, dep.version, dep.source].join("\u0000");
      const before = new Set(change.before.map(signature));
      const lines = change.after
        .filter((dep) => !before.has(signature(dep)))
        .flatMap((dep) => [dep.line, dep.versionLine])
        .filter((line) => change.addedAt.has(line));
      if (!lines.length) continue;
      const place = dirs.length > 1 ? `next to ${change.file.path} or in a parent directory` : `next to ${change.file.path}`;
      found.add(change.file.path, Math.min(...lines), {
        severity: "major",
        title: `${posix.basename(change.file.path)} dependencies changed without a lockfile update`,
        rationale:
          `The dependencies declared in ${change.file.path} change, but no ${list(lockfiles, "or")} ${place} is part of this change. ${change.kind.lockRisk}`,
        suggestion: `Run ${change.kind.lockCommand} and commit the updated lockfile with this change.`,
      });
    }
    return found.findings;
  },
};

export const deprecatedDependencies: Analyzer = {
  angle: "techstack",
  rule: RETIRED,
  description: "A dependency this change adds is deprecated or abandoned by its own maintainers (request, node-sass, tslint, nose, pycrypto, github.com/pkg/errors, failure…).",
  run(input) {
    const found = new FindingSet(RETIRED, { repeats: "merge" });
    for (const change of manifestChanges(input)) {
      for (const dep of addedDependencies(change)) {
        const entry = retired(change.kind.ecosystem, dep.id);
        if (!entry) continue;
        found.add(change.file.path, dep.line, {
          severity: isDev(dep) ? "minor" : "major",
          title: `Deprecated dependency: ${dep.name}`,
          rationale: `${dep.name} ${entry.why}. Adding it now means carrying a dependency that will not get bug or security fixes, and a migration later.`,
          suggestion: `Use ${entry.instead} instead.`,
        });
      }
    }
    return found.findings;
  },
};

export const techstackAnalyzers: Analyzer[] = [newDependencies, duplicatePurpose, majorVersionBumps, lockfileNotUpdated, deprecatedDependencies];
