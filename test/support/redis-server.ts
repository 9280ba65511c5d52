// Starts one private, throw-away redis-server for the whole test run: a free loopback port,
// persistence off, noeviction as in production. Tests isolate themselves by key prefix.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { TestProject } from "vitest/node";
import { Redis } from "ioredis";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * `host` may be another loopback address (127.0.0.2): a test that restarts its Redis on the same
 * port then cannot lose that port to a server another test binds on 127.0.0.1 meanwhile.
 */
export async function startRedisServer(extraArgs: string[] = [], host = "127.0.0.1"): Promise<{ url: string; port: number; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", host, "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", ...extraArgs],
    { stdio: "ignore" },
  );
  const url = `redis://${host}:${port}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return { url, port, process: child };
    } catch {
      client.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGKILL");
  throw new Error(`test setup: redis-server did not start on port ${port}`);
}

let server: ChildProcess | undefined;

export default async function setup(project: TestProject) {
  const started = await startRedisServer();
  server = started.process;
  project.provide("redisUrl", started.url);
  return () => {
    server?.kill("SIGTERM");
  };
}
