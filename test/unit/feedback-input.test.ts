import { describe, expect, it } from "vitest";
import { FEEDBACK_INPUT_LIMIT, feedbackInput } from "../../src/pipeline/implementer.js";
import { Feedback } from "../../src/pipeline/run.js";

const feedback = (items: string[]): Feedback => ({ source: "ci", summary: "CI failed on a1b2c3d: test (failure)", items });

describe("the feedback dispatch input", () => {
  it("is the feedback as JSON when it fits", () => {
    const small = feedback(["test (failure): 2 tests failed"]);
    expect(JSON.parse(feedbackInput(small))).toEqual(small);
    expect(feedbackInput(null)).toBe("null");
  });

  it("stays under GitHub's limit, keeps items in order, cuts the first that does not fit and counts the rest", () => {
    const items = Array.from({ length: 12 }, (_, i) => `check-${i} (failure)\n${"x".repeat(9_000)}`);
    const input = feedbackInput(feedback(items));
    expect(input.length).toBeLessThanOrEqual(FEEDBACK_INPUT_LIMIT);
    const parsed = Feedback.parse(JSON.parse(input));
    expect(parsed.items.slice(0, 6)).toEqual(items.slice(0, 6));
    expect(parsed.items[6]).toMatch(/^check-6 \(failure\)\nx+\n… \(cut here\)$/);
    expect(parsed.items.at(-1)).toBe("(feedback shortened to fit GitHub's limit on dispatch inputs: 5 more items left out; the pull request's checks and reviews have the rest)");
  });

  it("shortens one huge item and a huge summary too", () => {
    const input = feedbackInput({ source: "changes-requested", summary: "s".repeat(100_000), items: ["y".repeat(200_000)] }, 10_000);
    expect(input.length).toBeLessThanOrEqual(10_000);
    const parsed = Feedback.parse(JSON.parse(input));
    expect(parsed.summary.length).toBe(2_500);
    expect(parsed.items[0]).toMatch(/… \(cut here\)$/);
    expect(parsed.items.at(-1)).toMatch(/^\(feedback shortened to fit GitHub's limit on dispatch inputs; /);
  });
});
