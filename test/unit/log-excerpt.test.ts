// The excerpt of a failing GitHub Actions job log that goes to the implementer: realistic job logs
// (test/fixtures/actions-logs/) in, the lines that tell the failure out, cleaned and capped.
import { describe, expect, it } from "vitest";
import { cleanLine, EXCERPT_LIMITS, excerptOfLog, fenced, maskSecrets } from "../../src/app/effects/log-excerpt.js";
import { actionsLogFixture } from "../support/github/actions-logs.js";

const TIMESTAMPED = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;
const stamp = (line: string) => `2025-03-14T10:21:11.0000000Z ${line}`;
const text = (lines: string[] | undefined) => (lines ?? []).join("\n");

describe("excerptOfLog on real-shaped job logs", () => {
  it("vitest: the failing step's test output up to the runner's error, without colours, timestamps, the step header or the post-job steps", () => {
    const excerpt = excerptOfLog(actionsLogFixture("vitest-failure.txt"));
    expect(excerpt).toMatchObject({ step: "npm test", anchor: "error" });
    const lines = excerpt!.lines;
    expect(lines).toContain(" FAIL  test/readme-check.test.ts > readme-check > finds a lowercase readme.md");
    expect(lines).toContain("AssertionError: expected false to be true // Object.is equality");
    expect(lines).toContain("      9|     expect(hasReadme([\"docs\", \"readme.md\"])).toBe(true);");
    expect(lines).toContain("      Tests  1 failed | 15 passed (16)");
    expect(lines.at(-1)).toBe("Error: Process completed with exit code 1.");
    const all = text(lines);
    expect(all).not.toContain("\u001b");
    expect(all).not.toMatch(TIMESTAMPED);
    expect(all).not.toContain("\uFEFF");
    expect(all).not.toContain("shell: /usr/bin/bash"); // the step's header group
    expect(all).not.toContain("NPM_TOKEN");
    expect(all).not.toContain("added 312 packages"); // another step
    expect(all).not.toContain("Cleaning up orphan processes"); // after the failure
  });

  it("eslint: the problems and npm's error lines; a token the log printed in clear is masked", () => {
    const excerpt = excerptOfLog(actionsLogFixture("eslint-failure.txt"));
    expect(excerpt).toMatchObject({ step: "npm run lint", anchor: "error" });
    const all = text(excerpt!.lines);
    expect(all).toContain("  3:9  error  'path' is defined but never used  @typescript-eslint/no-unused-vars");
    expect(all).toContain("  41:18  error  Unexpected any. Specify a different type  @typescript-eslint/no-explicit-any");
    expect(all).toContain("✖ 3 problems (2 errors, 1 warning)");
    expect(all).toContain("npm error Lifecycle script `lint` failed with error:");
    expect(all).toContain("registry auth: using token *** from DEBUG_REGISTRY_TOKEN");
    expect(all).not.toContain("npm_4kQ9zR2mW7xT1vB8nC3yL6pD0sF5hJ2aE9uG");
    expect(all).not.toContain("add-matcher");
  });

  it("a log without ##[error] (the runner was lost): the last step that names a failure, by its failure lines and its end", () => {
    const excerpt = excerptOfLog(actionsLogFixture("pytest-runner-lost.txt"));
    expect(excerpt).toMatchObject({ step: "python -m pytest -q", anchor: "keywords" });
    const all = text(excerpt!.lines);
    expect(all).toContain("E       AssertionError: assert None == {}");
    expect(all).toContain("FAILED tests/test_config.py::test_parse_empty_config - AssertionError: assert None == {}");
    expect(excerpt!.lines.at(-1)).toBe("2 failed, 50 passed in 1.37s");
    expect(all).not.toContain("Successfully installed");
  });

  it("a failure while setting up the job is told from the set-up lines", () => {
    const log = [
      "Current runner version: '2.322.0'",
      "Prepare all required actions",
      "Getting action download info",
      "##[error]Unable to resolve action `actions/chekout@v4`, repository not found",
    ].map(stamp).join("\n");
    const excerpt = excerptOfLog(log);
    expect(excerpt).toMatchObject({ step: "Set up job", anchor: "error" });
    expect(excerpt!.lines.at(-1)).toBe("Error: Unable to resolve action `actions/chekout@v4`, repository not found");
  });

  it("has nothing to say about an empty log", () => {
    expect(excerptOfLog("")).toBeNull();
    expect(excerptOfLog("\uFEFF\n\n")).toBeNull();
  });
});

describe("excerptOfLog caps", () => {
  /** The vitest log with `count` passing test files printed before the failure. */
  function longVitestLog(count: number): string {
    const lines = actionsLogFixture("vitest-failure.txt").split("\n");
    const at = lines.findIndex((line) => line.includes("test/login.test.ts"));
    const passing = Array.from({ length: count }, (_, i) => stamp(` ✓ test/generated-${i}.test.ts (1 test) 1ms`));
    return [...lines.slice(0, at), ...passing, ...lines.slice(at)].join("\n");
  }

  it("a long step keeps the failure and the end, marks what it leaves out, and stays within the line and byte caps", () => {
    const excerpt = excerptOfLog(longVitestLog(3_000))!;
    const content = excerpt.lines.filter((line) => line !== "" && !line.startsWith("… ("));
    expect(content.length).toBeLessThanOrEqual(EXCERPT_LIMITS.lines);
    expect(Buffer.byteLength(text(excerpt.lines))).toBeLessThanOrEqual(EXCERPT_LIMITS.bytes);
    expect(excerpt.lines).toContain(" FAIL  test/readme-check.test.ts > readme-check > finds a lowercase readme.md");
    expect(excerpt.lines).toContain("AssertionError: expected false to be true // Object.is equality");
    expect(excerpt.lines.at(-1)).toBe("Error: Process completed with exit code 1.");
    expect(excerpt.lines.some((line) => /^… \(\d+ lines left out\)$/.test(line))).toBe(true);
    // Passing tests are noise: of the 3,000 only the few next to the failure's output come along.
    expect(excerpt.lines.filter((line) => line.includes("generated-")).length).toBeLessThan(10);
  });

  it("cuts long lines and drops the earliest lines to fit the byte cap, never the error", () => {
    const wide = Array.from({ length: 80 }, (_, i) => stamp(`FAIL case ${i} ${"x".repeat(400)}`));
    const log = [stamp("##[group]Run make check"), stamp("make check"), stamp("##[endgroup]"), ...wide, stamp("##[error]Process completed with exit code 2.")].join("\n");
    const limits = { lines: 60, bytes: 3_000, lineChars: 120 };
    const excerpt = excerptOfLog(log, limits)!;
    expect(Buffer.byteLength(text(excerpt.lines))).toBeLessThanOrEqual(limits.bytes);
    expect(excerpt.lines.at(-1)).toBe("Error: Process completed with exit code 2.");
    expect(excerpt.lines.at(-2)).toBe(`FAIL case 79 ${"x".repeat(120 - "FAIL case 79 ".length)}…`);
    expect(excerpt.lines[0]).toMatch(/^… \(\d+ lines left out\)$/);
  });
});

describe("cleaning and masking lines", () => {
  it("strips the timestamp, colours, hyperlinks and progress-bar rewrites", () => {
    expect(cleanLine("2025-03-14T10:21:11.3211034Z \u001b[31m\u001b[1mAssertionError\u001b[22m: boom\u001b[39m")).toBe("AssertionError: boom");
    expect(cleanLine("\u001b]8;;https://example.com\u0007link\u001b]8;;\u0007 text")).toBe("link text");
    expect(cleanLine("2025-03-14T10:21:11Z downloading 10%\rdownloading 55%\rdownloaded   ")).toBe("downloaded");
  });

  it("masks token formats, credentials in URLs, bearer tokens and secret-named assignments, and keeps GitHub's *** and plain words", () => {
    expect(maskSecrets("push with ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0 failed")).toBe("push with *** failed");
    expect(maskSecrets("cloning https://deploy:s3cr3tPassw0rd@git.example.com/acme/widgets.git")).toBe("cloning https://deploy:***@git.example.com/acme/widgets.git");
    expect(maskSecrets("connecting to redis://:s3cr3tPassw0rd@cache.internal:6379/0")).toBe("connecting to redis://:***@cache.internal:6379/0");
    expect(maskSecrets("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc123def456")).toBe("Authorization: Bearer ***");
    expect(maskSecrets('DB_PASSWORD="hunter2hunter2" API_TOKEN=zq81Kd02mXv7Lq')).toBe('DB_PASSWORD="***" API_TOKEN=***');
    expect(maskSecrets("  NPM_TOKEN: ***")).toBe("  NPM_TOKEN: ***");
    expect(maskSecrets("3 tokens counted, password reset flow tested")).toBe("3 tokens counted, password reset flow tested");
  });

  it("fences an excerpt so that backticks inside cannot close it", () => {
    expect(fenced(["plain"])).toBe("```text\nplain\n```");
    expect(fenced(["```js", "x", "```"])).toBe("````text\n```js\nx\n```\n````");
  });
});
