import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchResult {
  benchmark: string;
  /** Conveyor against the bare substrate measured in the same run. */
  ratio: number;
  /** The ratio the issue asks for. */
  goal: number;
  better: "higher" | "lower";
  unit: string;
  /** Rows for the printed table: one per measured subject. */
  rows: Record<string, string | number>[];
  /** Anything else worth comparing across commits. */
  details?: Record<string, unknown>;
}

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "..", "results");

export function meetsGoal(result: BenchResult): boolean {
  return result.better === "higher" ? result.ratio >= result.goal : result.ratio <= result.goal;
}

export function report(result: BenchResult): void {
  console.log(`\n## ${result.benchmark}`);
  console.table(result.rows);
  const verdict = meetsGoal(result) ? "meets" : "MISSES";
  console.log(`ratio ${result.ratio.toFixed(3)} ${result.unit} (goal ${result.better === "higher" ? "≥" : "≤"} ${result.goal}: ${verdict} the goal)`);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${result.benchmark}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, meetsGoal: meetsGoal(result), measuredAt: new Date().toISOString(), node: process.version }, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
