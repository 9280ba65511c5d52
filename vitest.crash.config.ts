import { defineConfig } from "vitest/config";

// The crash test and the Redis-restart test alone (not merged with vitest.config.ts, whose
// excludes would otherwise drop them): worker processes killed with SIGKILL, Redis restarted.
// `npm test` runs this after the parallel suite; `npm run test:crash` runs it alone.
export default defineConfig({
  test: {
    include: ["test/crash/**/*.test.ts", "test/integration/redis-restart.test.ts"],
    globalSetup: ["test/support/redis-server.ts"],
    setupFiles: ["test/support/no-network.ts"],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One file at a time: the crash test spawns and kills worker processes on a clock.
    fileParallelism: false,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
