import { pino } from "pino";

/** A silent logger: benchmarks measure work, not log formatting. */
export const silent = pino({ level: "silent" });
