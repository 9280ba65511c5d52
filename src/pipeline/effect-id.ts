import type { Effect } from "./effects.js";
import type { Run, Stage } from "./run.js";

/** An effect before it has an id: `decide` names effects once the new run is known. */
export type EffectDraft = Effect extends infer E ? (E extends Effect ? Omit<E, "id"> : never) : never;

/**
 * `<runId>_<stage>_r<round>_v<version>_<kind>`, with `-2`, `-3`… when a kind repeats in one
 * decision. Unique per run version, and BullMQ-safe (no `:`, never all digits).
 */
export function effectId(run: Pick<Run, "id" | "stage" | "round" | "version">, kind: Effect["kind"], occurrence = 1): string {
  const suffix = occurrence > 1 ? `-${occurrence}` : "";
  return `${run.id}_${run.stage}_r${run.round}_v${run.version}_${kind}${suffix}`;
}

/** Gives every draft its id from the run the decision produced (its stage, round and version). */
export function assignEffectIds(run: Pick<Run, "id" | "stage" | "round" | "version">, drafts: readonly EffectDraft[]): Effect[] {
  const seen = new Map<string, number>();
  return drafts.map((draft) => {
    const occurrence = (seen.get(draft.kind) ?? 0) + 1;
    seen.set(draft.kind, occurrence);
    return { ...draft, id: effectId(run, draft.kind, occurrence) } as Effect;
  });
}

/** The run, stage, round and run version an effect id was issued for, or null when it is not one of ours. */
export function parseEffectId(id: string): { runId: string; stage: Stage; round: number; version: number } | null {
  const match = /^(\d+-\d+-\d+)_(intake|implement|review|ci|approval|merge|close)_r(\d+)_v(\d+)_/.exec(id);
  if (!match) return null;
  return { runId: match[1]!, stage: match[2] as Stage, round: Number(match[3]), version: Number(match[4]) };
}
