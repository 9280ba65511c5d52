// askForFindings against LangChain's FakeListChatModel (its `responses` are the model's raw text
// answers; our code never uses its withStructuredOutput): zod-validated findings from a JSON
// answer or a fenced one, exactly one retry that names the schema problem, ModelOutputError with
// the tokens spent, token counts from the provider or from the estimate; and the model setting
// (`none`, per-angle overrides, an unknown provider) without any provider package or network.
import { readFileSync } from "node:fs";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { describe, expect, it } from "vitest";
import { RepoConfig } from "../../../src/pipeline/config.js";
import { ModelFindings } from "../../../src/reviews/finding.js";
import { askForFindings, estimateTokens, ModelOutputError, modelProviderFromSetting, parseJsonAnswer } from "../../../src/reviews/model.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/llm/${name}`, import.meta.url), "utf8");
const VALID = fixture("review-security-base.json");
const FENCED = fixture("fenced-answer.md");
const INVALID = JSON.parse(fixture("invalid-answers.json")) as { why: string; answer: string; problem: string }[];
const SYSTEM = "You are the security reviewer of a pull request.";
const USER = "Diff part 1 of 1:\n<untrusted>\n### src/billing/charge.ts (modified)\n</untrusted>";

const textOf = (message: BaseMessage) => (typeof message.content === "string" ? message.content : JSON.stringify(message.content));

/** A FakeListChatModel that keeps a copy of the messages of every call. */
class RecordingChatModel extends FakeListChatModel {
  calls: BaseMessage[][] = [];
  override async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    this.calls.push([...messages]);
    return super._generate(messages, options, runManager);
  }
}

/** Reports usage the way providers do: `llmOutput.tokenUsage` (OpenAI style) or the message's usage_metadata. */
class UsageReportingChatModel extends RecordingChatModel {
  constructor(
    responses: string[],
    private readonly usage: number[],
    private readonly style: "llmOutput" | "usage_metadata",
  ) {
    super({ responses });
  }
  override async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    const result = await super._generate(messages, options, runManager);
    const total = this.usage[this.calls.length - 1]!;
    if (this.style === "llmOutput") return { ...result, llmOutput: { tokenUsage: { promptTokens: total - 10, completionTokens: 10, totalTokens: total } } };
    const text = result.generations[0]!.text;
    return { generations: [{ text, message: new AIMessage({ content: text, usage_metadata: { input_tokens: total - 10, output_tokens: 10, total_tokens: total } }) }] };
  }
}

/** What askForFindings counts when the provider reports nothing: every call's prompt and answer. */
function estimateOf(model: RecordingChatModel, answers: string[]): number {
  return model.calls.reduce((sum, messages, index) => sum + estimateTokens(messages.map(textOf).join("\n")) + estimateTokens(answers[index]!), 0);
}

describe("askForFindings", () => {
  it("returns the findings of a JSON answer, validated by zod (defaults filled in)", async () => {
    const model = new RecordingChatModel({ responses: [VALID] });
    const result = await askForFindings(model, SYSTEM, USER);
    expect(result.findings).toEqual(ModelFindings.parse(JSON.parse(VALID)).findings);
    expect(result.findings).toHaveLength(4);
    expect(result.findings[2]).toMatchObject({ path: "src/billing/refund.ts", line: 7, severity: "minor", suggestion: "" });
    expect(model.calls).toHaveLength(1);
  });

  it("asks with the system prompt plus the findings' JSON Schema, and the user prompt as is", async () => {
    const model = new RecordingChatModel({ responses: ['{"findings": []}'] });
    await askForFindings(model, SYSTEM, USER);
    const [system, user] = model.calls[0]!;
    expect(system!.getType()).toBe("system");
    expect(textOf(system!)).toContain(SYSTEM);
    expect(textOf(system!)).toContain("JSON Schema");
    const schema = JSON.parse(textOf(system!).slice(textOf(system!).indexOf("{"))) as { properties: { findings: { items: { required: string[] } } } };
    expect(schema.properties.findings.items.required).toEqual(expect.arrayContaining(["path", "line", "severity", "title", "rationale"]));
    expect(user!.getType()).toBe("human");
    expect(textOf(user!)).toBe(USER);
  });

  it("reads the JSON inside a ```json fence surrounded by prose", async () => {
    const result = await askForFindings(new FakeListChatModel({ responses: [FENCED] }), SYSTEM, USER);
    expect(result.findings).toEqual([
      { path: "src/billing/charge.ts", line: 14, severity: "major", title: "eval on a rule string", rationale: "Rules come from the database and are evaluated as code.", suggestion: "" },
    ]);
  });

  it("accepts an empty list: a clean change", async () => {
    expect((await askForFindings(new FakeListChatModel({ responses: ['{"findings": []}'] }), SYSTEM, USER)).findings).toEqual([]);
  });

  it.each(INVALID)("retries once after an invalid answer ($why), naming the problem, then succeeds", async ({ answer, problem }) => {
    const model = new RecordingChatModel({ responses: [answer, VALID] });
    const result = await askForFindings(model, SYSTEM, USER);
    expect(result.findings).toHaveLength(4);
    expect(model.calls).toHaveLength(2);
    // The second call carries the whole conversation: the bad answer and what is wrong with it.
    const second = model.calls[1]!;
    expect(second.map((message) => message.getType())).toEqual(["system", "human", "ai", "human"]);
    expect(textOf(second[2]!)).toBe(answer);
    const complaint = textOf(second[3]!);
    expect(complaint).toMatch(/does not match the schema/);
    expect(complaint).toContain(problem);
    expect(complaint).toMatch(/JSON object only/);
  });

  it("fails with ModelOutputError after two invalid answers, with the tokens spent, and never asks a third time", async () => {
    const answers = [INVALID[3]!.answer, INVALID[0]!.answer];
    const model = new RecordingChatModel({ responses: [...answers, VALID] });
    const error = await askForFindings(model, SYSTEM, USER).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelOutputError);
    expect((error as ModelOutputError).name).toBe("ModelOutputError");
    expect((error as ModelOutputError).message).toMatch(/did not match the schema twice: the answer contains no JSON object/);
    expect((error as ModelOutputError).tokens).toBeGreaterThan(0);
    expect((error as ModelOutputError).tokens).toBe(estimateOf(model, answers));
    expect(model.calls).toHaveLength(2);
  });

  it("falls back to the estimate (about 4 characters a token) when the model reports no usage", async () => {
    const answers = [INVALID[4]!.answer, VALID];
    const model = new RecordingChatModel({ responses: answers });
    const result = await askForFindings(model, SYSTEM, USER);
    expect(result.tokens).toBe(estimateOf(model, answers));
    expect(result.tokens).toBeGreaterThan(estimateTokens(SYSTEM + USER));
  });

  it.each(["llmOutput", "usage_metadata"] as const)("counts the tokens the provider reports (%s) over both calls, not the estimate", async (style) => {
    const model = new UsageReportingChatModel([INVALID[0]!.answer, VALID], [1200, 1500], style);
    const result = await askForFindings(model, SYSTEM, USER);
    expect(result.tokens).toBe(2700);
    const failing = new UsageReportingChatModel([INVALID[0]!.answer, INVALID[1]!.answer], [700, 800], style);
    await expect(askForFindings(failing, SYSTEM, USER)).rejects.toMatchObject({ name: "ModelOutputError", tokens: 1500 });
  });

  it("lets a provider error through unchanged (a 429 is BullMQ's to retry, not a schema failure)", async () => {
    class RateLimited extends FakeListChatModel {
      override async _generate(): Promise<ChatResult> {
        throw Object.assign(new Error("429 Too Many Requests"), { status: 429 });
      }
    }
    const error = await askForFindings(new RateLimited({ responses: [VALID] }), SYSTEM, USER).catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(ModelOutputError);
    expect(error).toMatchObject({ message: "429 Too Many Requests", status: 429 });
  });
});

describe("parseJsonAnswer", () => {
  it("reads bare JSON, JSON with prose around it, and fenced JSON", () => {
    expect(parseJsonAnswer('{"findings": []}')).toEqual({ findings: [] });
    expect(parseJsonAnswer('Sure! {"findings": []} Hope this helps.')).toEqual({ findings: [] });
    expect(parseJsonAnswer('```\n{"findings": []}\n```')).toEqual({ findings: [] });
  });

  // BUG (src/reviews/model.ts, parseJsonAnswer: /```(?:json)?\s*([\s\S]*?)```/ runs on the whole
  // answer): a valid bare-JSON answer whose suggestion holds a fenced code block (models often
  // write one) is cut down to the code inside that inner fence, which holds no JSON object, so a
  // correct answer counts as invalid (a retry, or a failed angle when it happens twice).
  // Expected: the findings are read. Actual: ModelOutputError "the answer contains no JSON object".
  it("reads a bare JSON answer whose suggestion contains a ``` code block", async () => {
    const answer = fixture("suggestion-with-code-fence.json");
    expect(JSON.parse(answer)).toBeTruthy(); // the answer is valid JSON
    expect(parseJsonAnswer(answer)).toEqual(JSON.parse(answer));
    const model = new RecordingChatModel({ responses: [answer, answer] });
    expect((await askForFindings(model, SYSTEM, USER)).findings[0]!.suggestion).toContain("execFileSync");
  });
});

describe("modelProviderFromSetting", () => {
  const config = (models: Record<string, string> = {}) => RepoConfig.parse({ review: { models } });

  it("gives no model for `none` and for no setting: the analyzers review alone", async () => {
    await expect(modelProviderFromSetting("none")("security", config())).resolves.toBeNull();
    await expect(modelProviderFromSetting(undefined)("quality", config())).resolves.toBeNull();
  });

  it("lets a repository switch the model off per angle (review.models), whatever the default", async () => {
    // The default would fail if it were built: an override of `none` must not even try.
    const provider = modelProviderFromSetting("nosuch:model-1");
    const repo = config({ security: "none", quality: "none" });
    await expect(provider("security", repo)).resolves.toBeNull();
    await expect(provider("quality", repo)).resolves.toBeNull();
    await expect(provider("architecture", repo)).rejects.toThrow(/nosuch:model-1/);
  });

  it("lets a repository pick a model per angle while the default is none", async () => {
    const provider = modelProviderFromSetting("none");
    const repo = config({ techstack: "nosuch:model-2" });
    await expect(provider("security", repo)).resolves.toBeNull();
    await expect(provider("techstack", repo)).rejects.toThrow(/nosuch:model-2/);
  });

  it("rejects an unknown provider when the model is built, naming the setting (no network)", async () => {
    const provider = modelProviderFromSetting("nosuch:model-3");
    const error = await provider("security", config()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/model provider/i);
    expect((error as Error).message).toContain("nosuch:model-3");
    expect((error as Error).message).toContain("from CONVEYOR_MODEL");
    // A failed build is not cached: once the setting is fixed, the next review builds anew.
    const again = await provider("quality", config()).catch((caught: unknown) => caught);
    expect(again).not.toBe(error);
    expect((again as Error).message).toContain("nosuch:model-3");
  });
});
