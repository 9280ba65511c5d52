import { once } from "node:events";
import { startRedisServer } from "../../test/support/redis-server.js";

/** A private, throw-away redis-server on a free loopback port (as the tests use), and its stop. */
export async function benchRedis(extraArgs: string[] = []): Promise<{ url: string; stop(): Promise<void> }> {
  const server = await startRedisServer(extraArgs);
  return {
    url: server.url,
    async stop() {
      if (server.process.exitCode !== null || server.process.signalCode !== null) return;
      const exited = once(server.process, "exit");
      server.process.kill("SIGKILL");
      await exited;
    },
  };
}
