import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { Analyzer } from "./analyzer.js";
import { findingId, type Finding } from "./finding.js";
import { askForFindings } from "./model.js";
import { systemPrompt, userPrompt } from "./prompts.js";
import { chunkDiffForModel } from "./render-diff.js";
import type { ReviewRuntime, ReviewStateType, ReviewUpdate, SourcedDraft } from "./state.js";

type ReviewConfig = LangGraphRunnableConfig<ReviewRuntime>;

function runtimeOf(config: ReviewConfig, node: string): ReviewRuntime {
  const runtime = config.context;
  if (!runtime?.source) throw new Error(`review graph, node ${node}: the run has no context { source, model }; start reviews with runAngleReview`);
  return runtime;
}

/** gather: the diff and file contents from the source (GitHub or a local diff). */
export async function gatherNode(_state: ReviewStateType, config: ReviewConfig): Promise<ReviewUpdate> {
  const context = await runtimeOf(config, "gather").source.load();
  return { diff: context.diff, files: context.files, mode: context.mode, notes: context.notes };
}

/**
 * analyze: the angle's deterministic analyzers. One failing analyzer is a note, not a failed angle.
 * It first waits one turn of the event loop, so that beside a model call the call (the slow step)
 * goes out first and the analyzers' CPU work, large on a large diff, runs while it is pending.
 */
export function analyzeNode(analyzers: readonly Analyzer[]) {
  return async (state: ReviewStateType): Promise<ReviewUpdate> => {
    await new Promise((resolve) => setImmediate(resolve));
    const drafts: SourcedDraft[] = [];
    const notes: string[] = [];
    // One input for all of them: what several analyzers derive from it is worked out once (see manifestChanges).
    const input = { diff: state.diff, files: state.files, config: state.config };
    for (const analyzer of analyzers) {
      try {
        for (const draft of analyzer.run(input)) drafts.push({ ...draft, source: "analyzer" });
      } catch (error) {
        notes.push(`analyzer ${analyzer.rule} failed: ${(error as Error).message}`);
      }
    }
    return { drafts, notes };
  };
}

/** ask-model: findings from the model, chunk by chunk; its output is validated with zod. */
export function askModelNode(focus: string) {
  return async (state: ReviewStateType, config: ReviewConfig): Promise<ReviewUpdate> => {
    const { model } = runtimeOf(config, "ask_model");
    if (!model) throw new Error("review graph, node ask_model: the run has no model; runAngleReview picks the graph without this node when none is configured");
    const { chunks, notes } = chunkDiffForModel(state.diff);
    const drafts: SourcedDraft[] = [];
    let tokens = 0;
    const system = systemPrompt(state.angle, focus);
    for (const [index, chunk] of chunks.entries()) {
      const answer = await askForFindings(model, system, userPrompt(chunk, index, chunks.length, state.earlier));
      tokens += answer.tokens;
      for (const finding of answer.findings) drafts.push({ ...finding, rule: `${state.angle}/model`, source: "model" });
    }
    return { drafts, notes, tokens };
  };
}

/**
 * merge: drafts become findings with stable ids; duplicates collapse (an analyzer's wording wins
 * over the model's); the model's findings on files outside the diff are dropped with a note.
 */
export function mergeNode(state: ReviewStateType): ReviewUpdate {
  const byPath = new Map(state.diff.files.map((file) => [file.path, file]));
  const findings = new Map<string, Finding>();
  const notes: string[] = [];
  // An analyzer's finding wins over the model's on the same line: one problem, one comment.
  const analyzed = new Set(state.drafts.filter((draft) => draft.source === "analyzer").map((draft) => `${draft.path}:${draft.line}`));
  for (const draft of state.drafts) {
    const file = byPath.get(draft.path);
    if (!file) {
      notes.push(`dropped a model finding on ${draft.path}, which is not in the diff`);
      continue;
    }
    if (draft.source === "model" && analyzed.has(`${draft.path}:${draft.line}`)) continue;
    const text = file.added.find((line) => line.line === draft.line)?.text ?? state.files.get(draft.path)?.split("\n")[draft.line - 1] ?? `line ${draft.line}`;
    const id = findingId(state.angle, draft.rule, draft.path, draft.anchor ?? text);
    if (findings.has(id)) continue;
    const { source, anchor: _anchor, ...rest } = draft;
    findings.set(id, { ...rest, id, angle: state.angle, alsoFrom: [], source, snippet: text.trim().slice(0, 300) });
  }
  return { findings: [...findings.values()], notes };
}
