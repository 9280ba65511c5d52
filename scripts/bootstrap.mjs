#!/usr/bin/env node
// Runs before anything is imported: it must use Node built-ins only, because on a fresh clone
// node_modules does not exist yet. `npm start`, `npm test` and `npm run bench` all enter here.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createConnection } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [task = "start", ...args] = process.argv.slice(2);

function log(message) {
  process.stderr.write(`conveyor bootstrap: ${message}\n`);
}

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: "inherit", ...options });
  return result.status ?? 1;
}

function has(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Installs dependencies when node_modules is missing or older than the lockfile. */
function ensureDependencies() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  log("installing dependencies (npm ci)");
  if (run("npm", ["ci", "--no-audit", "--no-fund"]) !== 0) {
    log("npm ci failed; fix the error above and run the command again");
    process.exit(1);
  }
}

/** Reads KEY=VALUE lines of .env without dotenv (not installed yet on a fresh clone). */
function readDotEnv() {
  const file = join(root, ".env");
  if (!existsSync(file)) return {};
  const values = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (match) values[match[1]] = match[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return values;
}

/** Makes sure Debian's redis-server is on PATH, installing it when we are root. */
function ensureRedisServer() {
  if (has("redis-server")) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !has("apt-get")) {
    log("redis-server is not installed and this user cannot install it.");
    log("Install it with:  sudo apt-get update && sudo apt-get install -y redis-server");
    log("or point REDIS_URL at a Redis you run (in .env or the environment).");
    process.exit(1);
  }
  log("installing Debian's redis-server (apt-get)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (run("apt-get", ["update", "-qq"], { env }) !== 0 || run("apt-get", ["install", "-y", "-qq", "redis-server"], { env }) !== 0) {
    log("apt-get could not install redis-server; see the output above");
    process.exit(1);
  }
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    socket.setTimeout(500);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk;
      socket.destroy();
      resolve(reply.startsWith("+PONG"));
    });
    socket.on("timeout", () => { socket.destroy(); resolve(false); });
    socket.on("error", () => resolve(false));
  });
}

/**
 * Starts (or reuses) the project's own Redis: persistence on (AOF everysec), noeviction because
 * BullMQ locks carry TTLs, data under .data/redis which git ignores. It keeps running after the
 * app stops, so the next start finds the same data.
 */
async function ensureLocalRedis(port) {
  const dir = join(root, ".data", "redis");
  mkdirSync(dir, { recursive: true });
  if (await ping(port)) {
    log(`using the local Redis already running on 127.0.0.1:${port}`);
    return `redis://127.0.0.1:${port}`;
  }
  log(`starting a local Redis on 127.0.0.1:${port} (data in .data/redis)`);
  const status = run("redis-server", [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
    "--maxmemory-policy", "noeviction", "--daemonize", "yes",
    "--pidfile", join(dir, "redis.pid"), "--logfile", join(dir, "redis.log"),
  ]);
  for (let i = 0; status === 0 && i < 50; i++) {
    if (await ping(port)) return `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`the local Redis did not start; see ${join(dir, "redis.log")}`);
  process.exit(1);
}

function exec(command, commandArgs, env) {
  const child = spawn(command, commandArgs, { cwd: root, stdio: "inherit", env });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** Runs a command to its end without blocking (signals reach it); resolves with its exit code. */
function runToEnd(command, commandArgs, env) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { cwd: root, stdio: "inherit", env });
    const forward = (signal) => child.kill(signal);
    for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, forward);
    child.on("exit", (code, signal) => {
      for (const name of ["SIGINT", "SIGTERM"]) process.off(name, forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const bin = (name) => join(root, "node_modules", ".bin", name);

ensureDependencies();
switch (task) {
  case "start": {
    const env = { ...process.env };
    const redisUrl = env.REDIS_URL || readDotEnv().REDIS_URL;
    if (!redisUrl) {
      ensureRedisServer();
      env.REDIS_URL = await ensureLocalRedis(Number(env.CONVEYOR_REDIS_PORT || 6390));
    }
    exec(bin("tsx"), ["src/cli.ts", ...(args.length ? args : ["start"])], env);
    break;
  }
  case "test":
    ensureRedisServer(); // the test setup starts private instances on free ports
    if (args.length) {
      exec(bin("vitest"), ["run", ...args], process.env);
      break;
    }
    // Everything: the suite in parallel, then the kill -9 crash test and the Redis-restart test on
    // their own (they time worker processes and restarts; next to the parallel suite on a small
    // machine they measure the machine).
    {
      const suite = await runToEnd(bin("vitest"), ["run"], process.env);
      const crash = await runToEnd(bin("vitest"), ["run", "--config", "vitest.crash.config.ts"], process.env);
      process.exit(suite || crash);
    }
    break;
  case "bench":
    ensureRedisServer();
    exec(bin("tsx"), ["bench/run.ts", ...args], process.env);
    break;
  default:
    log(`unknown task "${task}"; use start, test or bench`);
    process.exit(2);
}
