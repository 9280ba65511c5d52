// SharedLoads: what the angles of one round share instead of each asking GitHub: one load per
// key while it is fresh, a failed load forgotten, old entries dropped by age and by count.
import { describe, expect, it } from "vitest";
import { SharedLoads } from "../../../src/reviews/sources/shared-loads.js";

/** A load that resolves (or fails) when the test says so, counting its calls. */
function controlledLoad<T>() {
  const load = {
    calls: 0,
    settle: [] as { resolve: (value: T) => void; reject: (error: Error) => void }[],
    run: () => {
      load.calls++;
      return new Promise<T>((resolve, reject) => load.settle.push({ resolve, reject }));
    },
  };
  return load;
}

describe("SharedLoads", () => {
  it("loads a key once for callers that ask while the load runs and after it finished", async () => {
    const shared = new SharedLoads();
    const load = controlledLoad<string>();
    const waiting = [shared.get("pr 7 a...b", load.run), shared.get("pr 7 a...b", load.run), shared.get("pr 7 a...b", load.run)];
    load.settle[0]!.resolve("the diff");
    expect(await Promise.all(waiting)).toEqual(["the diff", "the diff", "the diff"]);
    expect(await shared.get("pr 7 a...b", load.run)).toBe("the diff");
    expect(load.calls).toBe(1);
  });

  it("loads each key on its own", async () => {
    const shared = new SharedLoads();
    expect(await shared.get("head a", async () => "a")).toBe("a");
    expect(await shared.get("head b", async () => "b")).toBe("b");
    expect(shared.size).toBe(2);
  });

  it("forgets a failed load, so the next caller (a retried job) loads again", async () => {
    const shared = new SharedLoads();
    const load = controlledLoad<string>();
    const first = shared.get("pr 7", load.run);
    const second = shared.get("pr 7", load.run);
    load.settle[0]!.reject(new Error("GitHub answered 502"));
    await expect(first).rejects.toThrow("GitHub answered 502");
    await expect(second).rejects.toThrow("GitHub answered 502");
    const retried = shared.get("pr 7", load.run);
    load.settle[1]!.resolve("the diff");
    expect(await retried).toBe("the diff");
    expect(load.calls).toBe(2);
  });

  it("loads again once an entry is older than ttlMs", async () => {
    let now = 1_000;
    const shared = new SharedLoads({ ttlMs: 60_000, maxEntries: 8 }, () => now);
    let calls = 0;
    const load = async () => ++calls;
    expect(await shared.get("pr 7", load)).toBe(1);
    now += 59_999;
    expect(await shared.get("pr 7", load)).toBe(1);
    now += 1;
    expect(await shared.get("pr 7", load)).toBe(2);
  });

  it("keeps at most maxEntries, dropping the oldest", async () => {
    const shared = new SharedLoads({ ttlMs: 60_000, maxEntries: 2 });
    let calls = 0;
    const load = async () => ++calls;
    await shared.get("one", load);
    await shared.get("two", load);
    await shared.get("three", load);
    expect(shared.size).toBe(2);
    expect(await shared.get("three", load)).toBe(3);
    expect(await shared.get("one", load)).toBe(4);
  });
});
