import { describe, expect, it } from "vitest";
import { ownersOf, parseCodeowners } from "../../src/app/codeowners.js";

const FILE = `# Lines starting with '#' are comments.
*                   @octo/everyone
*.js                @js-owner
/docs/              @docs-team-lead @octo/docs
apps/               @octo/apps
/scripts/deploy.sh  @release-manager   # trailing comment
src/**/migrations   @dba
`;

describe("CODEOWNERS", () => {
  const rules = parseCodeowners(FILE);

  it.each([
    ["README.md", ["@octo/everyone"]],
    ["lib/index.js", ["@js-owner"]],
    ["docs/guide/intro.md", ["@docs-team-lead", "@octo/docs"]],
    ["src/docs/notes.md", ["@octo/everyone"]], // /docs/ is anchored to the root
    ["apps/web/main.ts", ["@octo/apps"]],
    ["nested/apps/web/main.ts", ["@octo/apps"]], // apps/ without a leading slash matches at any depth
    ["scripts/deploy.sh", ["@release-manager"]],
    ["src/db/migrations/001.sql", ["@dba"]],
    ["docs/build.js", ["@docs-team-lead", "@octo/docs"]], // the last matching rule wins
  ])("%s is owned by %j", (path, owners) => {
    expect(ownersOf(rules, path)).toEqual(owners);
  });

  it("ignores comments and blank lines and owns nothing without a rule", () => {
    expect(parseCodeowners("# only a comment\n\n")).toEqual([]);
    expect(ownersOf(parseCodeowners("/docs/ @a"), "src/x.ts")).toEqual([]);
  });
});
