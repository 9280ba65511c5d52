// A poison event (one that makes decide throw, or a log entry that no longer parses) must not
// block the run's later events, and the issue must hear about it.
import { afterAll, expect, it, vi } from "vitest";
import { events, REPO, testEngine, at } from "../support/engine.js";

vi.mock("../../src/pipeline/decide.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/pipeline/decide.js")>();
  return {
    ...original,
    decide: (run: Parameters<typeof original.decide>[0], event: Parameters<typeof original.decide>[1]) => {
      if (event.type === "issue.unlabeled" && event.label === "poison") throw new Error("kaboom in decide");
      return original.decide(run, event);
    },
  };
});

const { engine, close } = testEngine();
afterAll(close);
const key = `${REPO.id}-1`;

it("skips an event that makes decide throw, tells the issue, and applies the events after it", async () => {
  await engine.submit(key, events.labeled(1), { source: "label", requiresRun: false });
  await engine.submit(key, events.configLoaded(), { source: "config", requiresRun: false });
  await engine.apply(key); // webhook-borne events below need a live run to be stored
  await engine.submit(key, { type: "issue.unlabeled", at: at(2), label: "poison", actor: "maria" }, { source: "poison", requiresRun: true });
  await engine.submit(key, events.closed(at(3)), { source: "close", requiresRun: true });
  await engine.apply(key);

  const { run } = await engine.store.load(key);
  expect(run!.state).toBe("cancelled"); // the event after the poison one was applied
  const comments = (await engine.queues.effects.getJobs(["waiting"])).filter((job) => job.data.effect.kind === "comment");
  expect(comments).toHaveLength(1);
  const comment = comments[0]!.data.effect as { body: string };
  expect(comment.body).toMatch(/internal error while applying `issue.unlabeled`/);
  expect(comment.body).toMatch(/kaboom in decide/);
});

it("skips a log entry that no longer parses and records why", async () => {
  const other = `${REPO.id}-2`;
  await engine.submit(other, events.labeled(2), { source: "label2", requiresRun: false });
  await engine.apply(other);
  await engine.store.redis.xadd(engine.store.keys.log(other), "*", "kind", "event", "type", "config.loaded", "event", "{not json", "source", "corrupt");
  await engine.submit(other, events.configLoaded(at(4)), { source: "config2", requiresRun: false });
  await engine.apply(other);

  expect((await engine.store.load(other)).run!.stage).toBe("implement");
  const history = await engine.store.history(other);
  const corrupt = history.find((entry) => entry.kind === "unreadable");
  expect(corrupt).toBeDefined();
  const skipped = history.find((entry) => entry.kind === "outcome" && entry.outcome.of === corrupt!.entryId);
  expect(skipped).toMatchObject({ outcome: { applied: false, reason: expect.stringMatching(/unreadable log entry/) } });
});
