// One valid run for tests, started the way `decide` starts one (newRun) and checked by the Run
// schema, with the test's changes on top:
//
//   makeRun()                                   // intake, active, round 0
//   makeRun({ stage: "ci", state: "paused" })
//   makeRun({ version: 2 }, { repo: { id: 7, owner: "octo", name: "hello", installationId: 1 } })  // id 7-42-1
import { Run, newRun, type RunStart } from "../../src/pipeline/run.js";

export const RUN_AT = "2024-05-01T12:00:00.000Z";

export const RUN_START: RunStart = {
  repo: { id: 186853002, owner: "Codertocat", name: "Hello-World", installationId: 1 },
  issue: { number: 42, title: "Fix the login" },
  generation: 1,
  startedBy: "octocat",
  label: "conveyor",
  at: RUN_AT,
};

/** `overrides` change the run; `start` changes what started it (repo, issue, generation, time: the id and timestamps follow). */
export function makeRun(overrides: Partial<Run> = {}, start: Partial<RunStart> = {}): Run {
  return Run.parse({ ...newRun({ ...RUN_START, ...start }), ...overrides });
}
