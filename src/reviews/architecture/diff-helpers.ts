// Small pure helpers over a parsed diff, shared by the techstack and architecture analyzers.
import type { DiffFile, DiffLine } from "../diff.js";
import { splitLines } from "../security/support.js";

/**
 * The file as it was before the change, rebuilt from its new content and the diff: the lines the
 * diff did not add, with the removed lines put back at their old line numbers. Null when the new
 * content does not match the diff (a stale or different version), so callers fall back to the diff.
 */
export function previousContent(file: DiffFile, newContent: string): string | null {
  const { added, removed } = file;
  const lines = splitLines(newContent);
  const addedAt = new Set<number>();
  for (const line of added) {
    if (line.line < 1 || line.line > lines.length || lines[line.line - 1]!.replace(/\r$/, "") !== line.text.replace(/\r$/, "")) return null;
    addedAt.add(line.line);
  }
  const kept = lines.filter((_, index) => !addedAt.has(index + 1));
  const removedAt = new Map(removed.map((line) => [line.line, line.text]));
  const total = kept.length + removedAt.size;
  const previous: string[] = [];
  let next = 0;
  for (let line = 1; line <= total; line++) {
    const text = removedAt.get(line);
    if (text !== undefined) previous.push(text);
    else if (next < kept.length) previous.push(kept[next++]!);
    else return null;
  }
  if (next !== kept.length) return null;
  return previous.length ? `${previous.join("\n")}\n` : "";
}

/** Diff lines split where their line numbers stop being consecutive. */
function consecutive(lines: readonly DiffLine[]): DiffLine[][] {
  const runs: DiffLine[][] = [];
  for (const line of lines) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1]!.line + 1 === line.line) last.push(line);
    else runs.push([line]);
  }
  return runs;
}

/** Groups consecutive diff lines into runs: the text of each run and a map from run line (1-based) to file line. */
export function lineRuns(lines: readonly DiffLine[]): { text: string; lineAt: (runLine: number) => number }[] {
  return consecutive(lines).map((run) => ({ text: run.map((line) => line.text).join("\n"), lineAt: (runLine: number) => run[Math.min(runLine, run.length) - 1]!.line }));
}

/**
 * The two sides of each hunk as numbered lines: `after` (context and added lines, new-file
 * numbers) and `before` (context and removed lines). Without hunks, the runs of added and removed lines.
 */
export function hunkSides(file: DiffFile): { after: DiffLine[][]; before: DiffLine[][] } {
  const hunks = file.hunks ?? [];
  if (!hunks.length) return { after: consecutive(file.added), before: consecutive(file.removed) };
  const after: DiffLine[][] = [];
  const before: DiffLine[][] = [];
  for (const hunk of hunks) {
    const newSide: DiffLine[] = [];
    const oldSide: DiffLine[] = [];
    for (const line of hunk.lines) {
      if (line.kind !== "del") newSide.push({ line: line.line, text: line.text });
      if (line.kind !== "add") oldSide.push({ line: line.line, text: line.text });
    }
    after.push(newSide);
    before.push(oldSide);
  }
  return { after, before };
}
