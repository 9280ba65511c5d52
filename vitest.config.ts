import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The kill -9 crash test and the Redis-restart test run after this suite, on their own
    // (vitest.crash.config.ts; `npm test` runs both, `npm run test:crash` only them).
    exclude: ["test/crash/**", "test/integration/redis-restart.test.ts", "**/node_modules/**"],
    globalSetup: ["test/support/redis-server.ts"],
    setupFiles: ["test/support/no-network.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
