// The quality angle's deterministic analyzers. Each is pure (no I/O) and reports only on added
// lines, at most once per (rule, path, line).
import type { Analyzer } from "../analyzer.js";
import { debugLeftovers } from "./debug-leftovers.js";
import { missingTests } from "./missing-tests.js";
import { oversizedFile, oversizedFunction } from "./size.js";

export { debugLeftovers, missingTests, oversizedFile, oversizedFunction };

export const qualityAnalyzers: Analyzer[] = [missingTests, oversizedFunction, oversizedFile, debugLeftovers];
