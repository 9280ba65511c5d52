import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

// The crash test alone: worker processes killed with SIGKILL while 50 runs are driven.
export default mergeConfig(base, defineConfig({ test: { include: ["test/crash/**/*.test.ts", "test/integration/redis-restart.test.ts"], exclude: ["**/node_modules/**"], testTimeout: 300_000 } }));
