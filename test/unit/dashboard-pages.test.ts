// The run page's summary: its links go to the GitHub Conveyor runs against.
import { describe, expect, it } from "vitest";
import { summaryHtml } from "../../src/app/dashboard/pages.js";
import { makeRun } from "../support/run-factory.js";

describe("summaryHtml", () => {
  const run = makeRun({ stage: "review", pr: { number: 43, branch: "conveyor/42-fix-the-login", headSha: "a".repeat(40) }, workflowRunId: 7001 });
  const links = (html: string) => [...html.matchAll(/href="([^"]+)"/g)].map((match) => match[1]);

  it("links the issue, the PR and the Actions run on github.com by default", () => {
    expect(links(summaryHtml(run))).toEqual([
      "https://github.com/Codertocat/Hello-World/issues/42",
      "https://github.com/Codertocat/Hello-World/pull/43",
      "https://github.com/Codertocat/Hello-World/actions/runs/7001",
    ]);
  });

  it("links to the GitHub Enterprise host Conveyor runs against", () => {
    expect(links(summaryHtml(run, "https://ghe.example"))).toEqual([
      "https://ghe.example/Codertocat/Hello-World/issues/42",
      "https://ghe.example/Codertocat/Hello-World/pull/43",
      "https://ghe.example/Codertocat/Hello-World/actions/runs/7001",
    ]);
  });
});
