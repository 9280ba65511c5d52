// The import graph of the files a review has (changed files and prefetched neighbours).
import { importLanguage, parseImports, resolveImport } from "./imports.js";
import type { ImportRef } from "./imports.js";

export interface ImportEdge {
  from: string;
  to: string;
  ref: ImportRef;
}

/** path → its resolved imports of known files (one edge per target; runtime imports win over type-only). */
export type ImportGraph = ReadonlyMap<string, readonly ImportEdge[]>;

export function buildImportGraph(files: ReadonlyMap<string, string>, exists: (path: string) => boolean): ImportGraph {
  const graph = new Map<string, ImportEdge[]>();
  for (const [path, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!importLanguage(path)) continue;
    const byTarget = new Map<string, ImportEdge>();
    for (const ref of parseImports(path, content)) {
      const to = resolveImport(path, ref.specifier, exists);
      if (!to) continue;
      const existing = byTarget.get(to);
      if (!existing || (existing.ref.typeOnly && !ref.typeOnly)) byTarget.set(to, { from: path, to, ref });
    }
    graph.set(path, [...byTarget.values()]);
  }
  return graph;
}

/** Shortest chain of runtime imports from `start` to `goal` ([start, …, goal]), or null. */
export function runtimePath(graph: ImportGraph, start: string, goal: string): string[] | null {
  if (start === goal) return [start];
  const previous = new Map<string, string>([[start, start]]);
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const edge of graph.get(node) ?? []) {
      if (edge.ref.typeOnly || previous.has(edge.to)) continue;
      previous.set(edge.to, node);
      if (edge.to === goal) {
        const path = [goal];
        for (let at = goal; at !== start; ) {
          at = previous.get(at)!;
          path.unshift(at);
        }
        return path;
      }
      queue.push(edge.to);
    }
  }
  return null;
}

/** A cycle ([a, b, …, a]) as a key that does not depend on where it starts. */
export function cycleKey(cycle: readonly string[]): string {
  const nodes = cycle.slice(0, -1);
  let best = 0;
  for (let i = 1; i < nodes.length; i++) if (nodes[i]! < nodes[best]!) best = i;
  return [...nodes.slice(best), ...nodes.slice(0, best)].join("\u0000");
}

/** The cycle's paths without their common directory, for a short title: `a.ts → b.ts → a.ts`. */
export function describeCycle(cycle: readonly string[]): string {
  const dirs = cycle.map((path) => path.split("/").slice(0, -1));
  let common = 0;
  while (dirs.every((dir) => dir.length > common && dir[common] === dirs[0]![common])) common++;
  return cycle.map((path) => path.split("/").slice(common).join("/")).join(" → ");
}
