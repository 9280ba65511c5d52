import { percentile, round } from "./result.js";

export interface LoadStats {
  requests: number;
  failures: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
}

/**
 * Sends `total` requests made by `makeRequest(i)` with at most `concurrency` in flight, on
 * loopback only, and measures each request's latency. Bounded in count by construction.
 */
export async function sendLoad(url: string, total: number, concurrency: number, makeRequest: (i: number) => RequestInit): Promise<LoadStats> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url)) throw new Error(`bench: refusing to send load to ${url}: loopback only`);
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  async function lane() {
    while (next < total) {
      const i = next++;
      const init = makeRequest(i);
      const t0 = performance.now();
      const response = await fetch(url, init);
      await response.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (response.status >= 300) failures++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    failures,
    seconds: round(seconds, 3),
    perSecond: round(total / seconds, 1),
    p50ms: round(percentile(latencies, 50)),
    p99ms: round(percentile(latencies, 99)),
  };
}
