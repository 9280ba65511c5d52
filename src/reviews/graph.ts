import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { END, START, StateGraph } from "@langchain/langgraph";
import type { Angle, RepoConfig } from "../pipeline/config.js";
import type { Analyzer } from "./analyzer.js";
import type { Finding } from "./finding.js";
import { analyzeNode, askModelNode, gatherNode, mergeNode } from "./nodes.js";
import type { ReviewSource } from "./source.js";
import { ReviewState } from "./state.js";

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
 * gather → analyze → (ask-model when a model is configured) → merge. The model is injected,
 * never built inside a node; with none, the analyzers alone make a real review.
 */
export function buildReviewGraph(definition: AngleDefinition, deps: { source: ReviewSource; model: BaseChatModel | null }) {
  const graph = new StateGraph(ReviewState)
    .addNode("gather", gatherNode(deps.source))
    .addNode("analyze", analyzeNode(definition.analyzers))
    .addNode("merge", mergeNode())
    .addEdge(START, "gather")
    .addEdge("gather", "analyze")
    .addEdge("merge", END);
  if (deps.model) {
    return graph.addNode("ask_model", askModelNode(deps.model, definition.focus)).addEdge("analyze", "ask_model").addEdge("ask_model", "merge").compile();
  }
  return graph.addEdge("analyze", "merge").compile();
}

export async function runAngleReview(
  definition: AngleDefinition,
  deps: { source: ReviewSource; model: BaseChatModel | null },
  input: { config: RepoConfig; earlier: Finding[] },
): Promise<AngleReview> {
  const graph = buildReviewGraph(definition, deps);
  const state = await graph.invoke({ angle: definition.angle, config: input.config, earlier: input.earlier });
  return { angle: definition.angle, findings: state.findings, notes: state.notes, tokens: state.tokens, mode: state.mode, reviewedPaths: state.diff.files.map((file) => file.path) };
}
