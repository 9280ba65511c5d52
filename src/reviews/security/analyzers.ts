// The security angle's deterministic analyzers. Each is pure (no I/O) and reports only on added
// lines, at most once per (rule, path, line).
import type { Analyzer } from "../analyzer.js";
import { dynamicCodeEval, shellInjection } from "./code-execution.js";
import { secretInDiff } from "./secrets.js";
import { insecureTls } from "./tls.js";
import { pullRequestTargetCheckout, workflowScriptInjection } from "./workflows.js";

export { dynamicCodeEval, insecureTls, pullRequestTargetCheckout, secretInDiff, shellInjection, workflowScriptInjection };

export const securityAnalyzers: Analyzer[] = [secretInDiff, dynamicCodeEval, shellInjection, workflowScriptInjection, pullRequestTargetCheckout, insecureTls];
