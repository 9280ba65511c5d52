import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { END, START, StateGraph } from "@langchain/langgraph";
import type { Angle, RepoConfig } from "../pipeline/config.js";
import type { Analyzer } from "./analyzer.js";
import type { Finding } from "./finding.js";
import { analyzeNode, askModelNode, gatherNode, mergeNode } from "./nodes.js";
import type { ReviewSource } from "./source.js";
import { ReviewRunDeps, ReviewState, type ReviewRuntime } from "./state.js";

export interface AngleDefinition {
  angle: Angle;
  analyzers: readonly Analyzer[];
  /** What this reviewer looks for, in the model's system prompt. */
  focus: string;
}

export interface AngleReview {
  angle: Angle;
  findings: Finding[];
  notes: string[];
  tokens: number;
  mode: "full" | "incremental";
  /** The files this review looked at: in an incremental round, earlier findings elsewhere stay open. */
  reviewedPaths: string[];
}

/**
 * gather → analyze → merge; with a model, gather → (analyze ‖ ask-model) → merge: the model call
 * is the slow step, so it starts as soon as the context is there and the analyzers (which it
 * does not read) run while it is pending. The graph holds no per-review state: the source and
 * the model come with each run (`context`), so one compiled graph serves every review.
 */
function compileReviewGraph(definition: AngleDefinition, withModel: boolean) {
  const graph = new StateGraph(ReviewState, ReviewRunDeps)
    .addNode("gather", gatherNode)
    .addNode("analyze", analyzeNode(definition.analyzers))
    .addNode("merge", mergeNode)
    .addEdge(START, "gather")
    .addEdge("gather", "analyze")
    .addEdge("merge", END);
  if (!withModel) return graph.addEdge("analyze", "merge").compile();
  return graph.addNode("ask_model", askModelNode(definition.focus)).addEdge("gather", "ask_model").addEdge(["analyze", "ask_model"], "merge").compile();
}
export type ReviewGraph = ReturnType<typeof compileReviewGraph>;

// Compiled once per angle definition and process, not per review: keyed by the definition
// object, so a test's own definition gets its own graph and is collected with it.
const compiled = new WeakMap<AngleDefinition, { withModel?: ReviewGraph; analyzersOnly?: ReviewGraph }>();

/** The angle's compiled graph: with an ask-model step when a model is configured, else the analyzers alone. */
export function reviewGraph(definition: AngleDefinition, withModel: boolean): ReviewGraph {
  let graphs = compiled.get(definition);
  if (!graphs) compiled.set(definition, (graphs = {}));
  const key = withModel ? "withModel" : "analyzersOnly";
  return (graphs[key] ??= compileReviewGraph(definition, withModel));
}

export async function runAngleReview(
  definition: AngleDefinition,
  deps: { source: ReviewSource; model: BaseChatModel | null },
  input: { config: RepoConfig; earlier: Finding[] },
): Promise<AngleReview> {
  const context: ReviewRuntime = { source: deps.source, model: deps.model };
  const state = await reviewGraph(definition, deps.model !== null).invoke({ angle: definition.angle, config: input.config, earlier: input.earlier }, { context });
  return { angle: definition.angle, findings: state.findings, notes: state.notes, tokens: state.tokens, mode: state.mode, reviewedPaths: state.diff.files.map((file) => file.path) };
}
