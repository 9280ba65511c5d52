import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { Annotation } from "@langchain/langgraph";
import type { Angle, RepoConfig } from "../pipeline/config.js";
import type { ParsedDiff } from "./diff.js";
import type { Finding, FindingDraft } from "./finding.js";
import type { ReviewSource } from "./source.js";

export type SourcedDraft = FindingDraft & { source: "analyzer" | "model" };

const concat = <T>(left: T[], right: T[]) => left.concat(right);

/**
 * One angle's review as a LangGraph state. `drafts`, `notes` and `tokens` have reducers because
 * several nodes write them.
 */
export const ReviewState = Annotation.Root({
  angle: Annotation<Angle>,
  config: Annotation<RepoConfig>,
  /** Open findings of this angle from earlier rounds. */
  earlier: Annotation<Finding[]>,
  diff: Annotation<ParsedDiff>,
  files: Annotation<ReadonlyMap<string, string>>,
  mode: Annotation<"full" | "incremental">,
  drafts: Annotation<SourcedDraft[]>({ reducer: concat, default: () => [] }),
  notes: Annotation<string[]>({ reducer: concat, default: () => [] }),
  tokens: Annotation<number>({ reducer: (left, right) => left + right, default: () => 0 }),
  findings: Annotation<Finding[]>,
});
export type ReviewStateType = typeof ReviewState.State;
export type ReviewUpdate = typeof ReviewState.Update;

/**
 * What one review run brings besides its input: LangGraph's run context, not state, so the graphs
 * are compiled once per process and every review passes its own source and model.
 */
export const ReviewRunDeps = Annotation.Root({
  source: Annotation<ReviewSource>,
  model: Annotation<BaseChatModel | null>,
});
export type ReviewRuntime = typeof ReviewRunDeps.State;
