// The GitHub review source with the round's SharedLoads, against GitHub faked with nock: the four
// angles of a round list the PR's files and read each changed file once between them; the
// architecture angle's extra files stay in its own copy; a fix round's compare and a full
// review are different loads; the parent's inline-comment diff reuses the children's listing.
import { describe, expect, it } from "vitest";
import { githubReviewSource, loadPullRequestDiff, type GitHubReviewTarget } from "../../../src/reviews/sources/github.js";
import { SharedLoads } from "../../../src/reviews/sources/shared-loads.js";
import { TestOctokit } from "../../support/conveyor.js";
import { fakeGitHub } from "../../support/github/fake-github.js";

const REPO = { owner: "acme", repo: "widgets" };
const HEAD = "b".repeat(40);
const PREVIOUS = "a".repeat(40);
const CONTENTS: Record<string, string> = {
  "src/a.ts": 'import { b } from "./b.js";\nexport const a = b + 1;\n',
  "src/c.ts": "export const c = 3;\n",
  "src/b.ts": "export const b = 2;\n",
};
const listed = (filename: string, patch: string) => ({ filename, status: "modified", sha: "1", additions: 1, deletions: 0, changes: 1, blob_url: "", raw_url: "", contents_url: "", patch });

function github() {
  const gh = fakeGitHub();
  gh.on("GET /repos/{owner}/{repo}/pulls/{pull_number}/files", { ...REPO, pull_number: 7 }, { status: 200, body: [listed("src/a.ts", "@@ -1 +1,2 @@\n-old\n+import { b } from \"./b.js\";\n+export const a = b + 1;"), listed("src/c.ts", "@@ -1 +1 @@\n-old\n+export const c = 3;")] }, { persist: true });
  gh.on("GET /repos/{owner}/{repo}/compare/{basehead}", { ...REPO, basehead: `${PREVIOUS}...${HEAD}` }, { status: 200, body: { status: "ahead", files: [listed("src/c.ts", "@@ -1 +1 @@\n-old\n+export const c = 3;")] } }, { persist: true, optional: true });
  gh.on("GET /repos/{owner}/{repo}/contents/{path}", REPO, (request) => {
    const content = request.query.ref === HEAD ? CONTENTS[request.params.path!] : undefined;
    return content === undefined ? { status: 404, body: { message: "Not Found" } } : { status: 200, body: content };
  }, { persist: true });
  const octokit = new TestOctokit({ auth: { token: "test-token" } });
  const reads = () => gh.calls("GET /repos/{owner}/{repo}/contents/{path}").map((call) => call.params.path).sort();
  return { gh, octokit, reads };
}

const target = (extra: Partial<GitHubReviewTarget> = {}): GitHubReviewTarget => ({ ...REPO, pullNumber: 7, headSha: HEAD, previousSha: null, ...extra });
const related = () => ["src/b.ts"];

describe("githubReviewSource with the round's SharedLoads", () => {
  it("lists the PR and reads each changed file once for the four angles; the architecture angle's extra file only in its copy", async () => {
    const { gh, octokit, reads } = github();
    const shared = new SharedLoads();
    const [architecture, ...others] = await Promise.all([
      githubReviewSource(octokit, target({ related }), shared).load(),
      ...[1, 2, 3].map(() => githubReviewSource(octokit, target(), shared).load()),
    ]);
    expect(gh.calls("GET /repos/{owner}/{repo}/pulls/{pull_number}/files")).toHaveLength(1);
    expect(reads()).toEqual(["src/a.ts", "src/b.ts", "src/c.ts"]);
    expect([...architecture!.files.keys()].sort()).toEqual(["src/a.ts", "src/b.ts", "src/c.ts"]);
    for (const context of others) {
      expect([...context.files.keys()].sort()).toEqual(["src/a.ts", "src/c.ts"]);
      expect(context).toMatchObject({ mode: "full", notes: [] });
      expect(context.diff.files.map((file) => [file.path, file.added.map((line) => line.line)])).toEqual([
        ["src/a.ts", [1, 2]],
        ["src/c.ts", [1]],
      ]);
    }
  });

  it("reviews a fix round's new commits apart from the whole PR, and the parent's diff of the whole PR reuses the listing", async () => {
    const { gh, octokit, reads } = github();
    const shared = new SharedLoads();
    const incremental = await githubReviewSource(octokit, target({ previousSha: PREVIOUS }), shared).load();
    expect(incremental.mode).toBe("incremental");
    expect(incremental.notes).toEqual([`incremental review of the commits since ${PREVIOUS.slice(0, 7)}`]);
    expect([...incremental.files.keys()]).toEqual(["src/c.ts"]);
    expect(gh.calls("GET /repos/{owner}/{repo}/pulls/{pull_number}/files")).toHaveLength(0);

    const whole = await loadPullRequestDiff(octokit, target(), shared);
    expect(whole.diff.files.map((file) => file.path)).toEqual(["src/a.ts", "src/c.ts"]);
    await loadPullRequestDiff(octokit, target(), shared);
    await githubReviewSource(octokit, target(), shared).load();
    expect(gh.calls("GET /repos/{owner}/{repo}/pulls/{pull_number}/files")).toHaveLength(1);
    expect(gh.calls("GET /repos/{owner}/{repo}/compare/{basehead}")).toHaveLength(1);
    // The parent's diff reads no contents; the full review reads the files the fix round did not.
    expect(reads()).toEqual(["src/a.ts", "src/c.ts", "src/c.ts"]);
  });

  it("asks GitHub again for every load without SharedLoads", async () => {
    const { gh, octokit } = github();
    await githubReviewSource(octokit, target()).load();
    await githubReviewSource(octokit, target()).load();
    expect(gh.calls("GET /repos/{owner}/{repo}/pulls/{pull_number}/files")).toHaveLength(2);
  });
});
