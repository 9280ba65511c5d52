import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { HumanMessage, SystemMessage, type BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import { initChatModel } from "langchain";
import { z } from "zod";
import type { Angle, RepoConfig } from "../pipeline/config.js";
import { ModelFindings, type ModelFinding } from "./finding.js";

/** The model for an angle, or null when reviews run on analyzers alone. */
export type ModelProvider = (angle: Angle, config: RepoConfig) => Promise<BaseChatModel | null>;

/** Raised when an angle's model answer cannot be used: the angle is reported as failed. */
export class ModelOutputError extends Error {
  override name = "ModelOutputError";
  /** Tokens spent on the answers that could not be used: they still count against the budget. */
  tokens = 0;
}

/**
 * One setting picks provider and model (`CONVEYOR_MODEL=openai:gpt-4o-mini`, `anthropic:…`,
 * `ollama:…`, or `none`); a repository may override it per angle (`review.models`). LangChain's
 * initChatModel does the provider switch. Models are built once per name and reused.
 */
export function modelProviderFromSetting(defaultModel: string | undefined): ModelProvider {
  const cache = new Map<string, Promise<BaseChatModel>>();
  return async (angle, config) => {
    const name = config.review.models[angle] ?? defaultModel ?? "none";
    if (name === "none") return null;
    let model = cache.get(name);
    if (!model) {
      // Retries belong to BullMQ (one owner): the provider client does not retry on its own.
      model = (initChatModel(name, { temperature: 0, maxRetries: 0 }) as unknown as Promise<BaseChatModel>).catch((error: unknown) => {
        cache.delete(name); // a failed build is not remembered: fixing the setting fixes the next review
        throw new Error(`review model "${name}" (from ${config.review.models[angle] ? `review.models.${angle} in .github/conveyor.yml` : "CONVEYOR_MODEL"}) cannot be used: ${(error as Error).message}`);
      });
      cache.set(name, model);
    }
    return model;
  };
}

/** Counts tokens the provider reports; falls back to an estimate for providers that report none. */
export class TokenCounter extends BaseCallbackHandler {
  name = "conveyor-token-counter";
  total = 0;
  reported = false;

  override handleLLMEnd(output: LLMResult): void {
    const usage = output.llmOutput?.tokenUsage ?? output.llmOutput?.usage;
    let tokens = Number(usage?.totalTokens ?? usage?.total_tokens ?? 0);
    if (!tokens) {
      for (const generation of output.generations.flat()) {
        const metadata = (generation as { message?: { usage_metadata?: { total_tokens?: number } } }).message?.usage_metadata;
        tokens += metadata?.total_tokens ?? 0;
      }
    }
    if (tokens) {
      this.total += tokens;
      this.reported = true;
    }
  }
}

/** About four characters per token: what we count when a provider reports no usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

const FINDINGS_JSON_SCHEMA = JSON.stringify(z.toJSONSchema(ModelFindings));

/** Extracts the JSON object from an answer: bare JSON first, then the first fenced block. */
export function parseJsonAnswer(text: string): unknown {
  const candidates: string[] = [];
  const bare = text.trim();
  const start = bare.indexOf("{");
  const end = bare.lastIndexOf("}");
  if (start >= 0 && end > start) candidates.push(bare.slice(start, end + 1));
  // Models like to wrap the JSON in a code fence (and suggestions may contain fences of their own).
  const fenced = /```(?:json)?\s*(\{[\s\S]*?\})\s*```/.exec(text);
  if (fenced) candidates.push(fenced[1]!);
  if (candidates.length === 0) throw new ModelOutputError("the answer contains no JSON object");
  let problem = "";
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate);
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  throw new ModelOutputError(`the answer is not valid JSON: ${problem}`);
}

function textOf(message: BaseMessage): string {
  const content = message.content;
  if (typeof content === "string") return content;
  return content.map((part) => ("text" in part && typeof part.text === "string" ? part.text : "")).join("");
}

export interface AskResult {
  findings: ModelFinding[];
  tokens: number;
}

/**
 * Asks for findings as JSON that must match the zod schema. The answer is validated with zod
 * (whatever the provider claims); one invalid answer is retried once with the errors named, a
 * second one fails the angle. The same path works for every provider and for LangChain's fakes.
 */
export async function askForFindings(model: BaseChatModel, system: string, user: string): Promise<AskResult> {
  const counter = new TokenCounter();
  const messages: BaseMessage[] = [
    new SystemMessage(`${system}\n\nAnswer with one JSON object only, matching this JSON Schema:\n${FINDINGS_JSON_SCHEMA}`),
    new HumanMessage(user),
  ];
  let estimated = 0;
  let problem = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    const answer = await model.invoke(messages, { callbacks: [counter] });
    const text = textOf(answer);
    estimated += estimateTokens(messages.map(textOf).join("\n")) + estimateTokens(text);
    try {
      const parsed = ModelFindings.safeParse(parseJsonAnswer(text));
      if (parsed.success) return { findings: parsed.data.findings, tokens: counter.reported ? counter.total : estimated };
      problem = parsed.error.issues.slice(0, 10).map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    } catch (error) {
      if (!(error instanceof ModelOutputError)) throw error;
      problem = error.message;
    }
    messages.push(answer, new HumanMessage(`That answer does not match the schema (${problem}). Answer again with the JSON object only.`));
  }
  const failure = new ModelOutputError(`the model's findings did not match the schema twice: ${problem}`);
  failure.tokens = counter.reported ? counter.total : estimated;
  throw failure;
}
