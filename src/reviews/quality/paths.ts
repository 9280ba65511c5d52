// What counts as source code for the quality analyzers (test code, docs, configuration,
// lockfiles and generated or vendored files do not).
import { basename, extensionOf, isDocPath, isTestPath } from "../security/support.js";

const SOURCE_EXTENSIONS = new Set([
  "ts", "tsx", "mts", "cts", "js", "jsx", "mjs", "cjs", "vue", "svelte",
  "py", "go", "rb", "java", "kt", "kts", "scala", "rs", "cs", "fs", "php", "swift",
  "c", "h", "cc", "cpp", "cxx", "hpp", "m", "mm", "ex", "exs", "erl", "clj", "dart", "lua",
]);

/** Build and tool configuration written in a programming language. */
const CONFIG_FILE = /(^|\/)(\.[^/]*|[^/]*\.config\.[^/]+|setup\.py|noxfile\.py|Gruntfile\.js|Gulpfile\.js)$/;
const GENERATED_OR_VENDORED = /(^|\/)(\.github|node_modules|vendor|third_party|dist|build|coverage|generated|__generated__)\/|\.min\.js$|\.d\.[cm]?ts$|\.pb\.go$|_pb2\.py$|\.generated\.[^/]+$/;

/** Code in a programming language, tests included: not docs, config, generated or vendored files. */
export function isCodePath(path: string): boolean {
  return (
    SOURCE_EXTENSIONS.has(extensionOf(path)) &&
    !isDocPath(path) &&
    !CONFIG_FILE.test(path) &&
    !GENERATED_OR_VENDORED.test(path) &&
    !basename(path).startsWith(".")
  );
}

/** Application or library code: code that is not a test. */
export function isSourcePath(path: string): boolean {
  return isCodePath(path) && !isTestPath(path);
}
