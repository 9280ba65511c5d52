// Data the techstack analyzers judge by: libraries that do the same job, and packages whose own
// maintainers retired them. Names are written as published; lookups normalise them per ecosystem.
import type { Ecosystem } from "./versions.js";

export interface PurposeGroup {
  ecosystem: Ecosystem;
  purpose: string;
  /** Alternatives to each other. Libraries built on one another (typer on click) are not listed together. */
  members: readonly string[];
}

export const PURPOSE_GROUPS: readonly PurposeGroup[] = [
  // npm
  { ecosystem: "npm", purpose: "HTTP client", members: ["axios", "got", "node-fetch", "superagent", "undici", "ky", "request", "cross-fetch", "isomorphic-fetch", "needle"] },
  { ecosystem: "npm", purpose: "dates", members: ["moment", "dayjs", "date-fns", "luxon"] },
  { ecosystem: "npm", purpose: "utility library", members: ["lodash", "lodash-es", "underscore", "ramda"] },
  { ecosystem: "npm", purpose: "test runner", members: ["jest", "vitest", "mocha", "ava", "jasmine", "tap", "uvu"] },
  { ecosystem: "npm", purpose: "schema validation", members: ["zod", "yup", "joi", "ajv", "valibot", "superstruct", "io-ts", "class-validator"] },
  { ecosystem: "npm", purpose: "logger", members: ["pino", "winston", "bunyan", "log4js", "loglevel", "signale"] },
  { ecosystem: "npm", purpose: "command-line parsing", members: ["commander", "yargs", "minimist", "meow", "cac", "arg", "sade"] },
  { ecosystem: "npm", purpose: "web framework", members: ["express", "koa", "fastify", "@hapi/hapi", "restify", "hono"] },
  { ecosystem: "npm", purpose: "ORM", members: ["typeorm", "sequelize", "@prisma/client", "@mikro-orm/core", "drizzle-orm"] },
  { ecosystem: "npm", purpose: "Redis client", members: ["ioredis", "redis"] },
  { ecosystem: "npm", purpose: "state management", members: ["@reduxjs/toolkit", "mobx", "zustand", "jotai", "recoil", "valtio"] },
  { ecosystem: "npm", purpose: "YAML", members: ["yaml", "js-yaml"] },
  { ecosystem: "npm", purpose: "Markdown", members: ["marked", "markdown-it", "showdown", "remark"] },
  { ecosystem: "npm", purpose: "browser automation", members: ["puppeteer", "playwright", "@playwright/test", "cypress", "selenium-webdriver", "webdriverio"] },
  // Python (PyPI)
  { ecosystem: "pypi", purpose: "HTTP client", members: ["requests", "httpx", "aiohttp", "httplib2", "treq"] },
  { ecosystem: "pypi", purpose: "test runner", members: ["pytest", "nose", "nose2"] },
  { ecosystem: "pypi", purpose: "dates", members: ["arrow", "pendulum", "maya", "delorean"] },
  { ecosystem: "pypi", purpose: "data validation", members: ["pydantic", "marshmallow", "cerberus", "voluptuous", "schema", "schematics"] },
  { ecosystem: "pypi", purpose: "logging", members: ["loguru", "structlog", "logbook"] },
  { ecosystem: "pypi", purpose: "command-line parsing", members: ["click", "docopt", "fire"] },
  { ecosystem: "pypi", purpose: "web framework", members: ["django", "flask", "fastapi", "pyramid", "bottle", "sanic", "tornado", "falcon", "litestar"] },
  { ecosystem: "pypi", purpose: "ORM", members: ["sqlalchemy", "peewee", "pony", "tortoise-orm"] },
  { ecosystem: "pypi", purpose: "YAML", members: ["pyyaml", "ruamel.yaml", "strictyaml"] },
  { ecosystem: "pypi", purpose: "JSON", members: ["orjson", "ujson", "simplejson", "python-rapidjson"] },
  { ecosystem: "pypi", purpose: "task queue", members: ["celery", "rq", "dramatiq", "huey", "arq"] },
  // Go modules (major-version suffixes are ignored: github.com/go-chi/chi/v5 is github.com/go-chi/chi)
  { ecosystem: "go", purpose: "logger", members: ["github.com/sirupsen/logrus", "go.uber.org/zap", "github.com/rs/zerolog", "github.com/apex/log", "github.com/go-kit/log", "github.com/charmbracelet/log"] },
  { ecosystem: "go", purpose: "HTTP router", members: ["github.com/gin-gonic/gin", "github.com/labstack/echo", "github.com/go-chi/chi", "github.com/gorilla/mux", "github.com/gofiber/fiber", "github.com/julienschmidt/httprouter"] },
  { ecosystem: "go", purpose: "HTTP client", members: ["github.com/go-resty/resty", "github.com/imroc/req", "github.com/parnurzeal/gorequest"] },
  { ecosystem: "go", purpose: "test assertions", members: ["github.com/stretchr/testify", "github.com/onsi/gomega", "gotest.tools", "github.com/matryer/is"] },
  { ecosystem: "go", purpose: "command-line parsing", members: ["github.com/spf13/cobra", "github.com/urfave/cli", "github.com/alecthomas/kong"] },
  { ecosystem: "go", purpose: "YAML", members: ["gopkg.in/yaml", "github.com/goccy/go-yaml"] },
  { ecosystem: "go", purpose: "configuration", members: ["github.com/spf13/viper", "github.com/kelseyhightower/envconfig", "github.com/caarlos0/env", "github.com/knadh/koanf"] },
  { ecosystem: "go", purpose: "PostgreSQL driver", members: ["github.com/lib/pq", "github.com/jackc/pgx"] },
  // Rust crates
  { ecosystem: "cargo", purpose: "HTTP client", members: ["reqwest", "ureq", "surf", "isahc", "attohttpc"] },
  { ecosystem: "cargo", purpose: "async runtime", members: ["tokio", "async-std", "smol"] },
  { ecosystem: "cargo", purpose: "application error handling", members: ["anyhow", "eyre", "failure"] },
  { ecosystem: "cargo", purpose: "error type derivation", members: ["thiserror", "snafu"] },
  { ecosystem: "cargo", purpose: "command-line parsing", members: ["clap", "argh", "pico-args", "gumdrop"] },
  { ecosystem: "cargo", purpose: "logger implementation", members: ["env_logger", "simplelog", "fern", "flexi_logger", "log4rs"] },
  { ecosystem: "cargo", purpose: "lazy statics", members: ["lazy_static", "once_cell"] },
  { ecosystem: "cargo", purpose: "date and time", members: ["chrono", "time"] },
];

export interface Retired {
  ecosystem: Ecosystem;
  name: string;
  /** Why it should not be added: who retired it and what that means. */
  why: string;
  instead: string;
}

export const RETIRED: readonly Retired[] = [
  { ecosystem: "npm", name: "request", why: "was deprecated by its maintainers in 2020 and gets no fixes, security fixes included", instead: "the built-in fetch (Node 18+) or undici" },
  { ecosystem: "npm", name: "request-promise", why: "was deprecated together with request", instead: "the built-in fetch (Node 18+) or undici" },
  { ecosystem: "npm", name: "node-sass", why: "is deprecated: LibSass, which it wraps, reached end of life", instead: "sass (Dart Sass)" },
  { ecosystem: "npm", name: "tslint", why: "was deprecated by its maintainers in 2019", instead: "ESLint with typescript-eslint" },
  { ecosystem: "npm", name: "babel-eslint", why: "is deprecated", instead: "@babel/eslint-parser" },
  { ecosystem: "npm", name: "moment", why: "is in maintenance mode; its maintainers advise against it for new code", instead: "date-fns, Day.js or Luxon" },
  { ecosystem: "npm", name: "node-uuid", why: "is deprecated (renamed)", instead: "uuid, or crypto.randomUUID()" },
  { ecosystem: "npm", name: "istanbul", why: "is deprecated", instead: "c8 or nyc" },
  { ecosystem: "pypi", name: "nose", why: "has been unmaintained since 2015 and does not run on current Python versions", instead: "pytest" },
  { ecosystem: "pypi", name: "pycrypto", why: "has been unmaintained since 2013 and has known vulnerabilities", instead: "cryptography or pycryptodome" },
  { ecosystem: "pypi", name: "sklearn", why: "is a deprecated placeholder whose installation fails on purpose", instead: "scikit-learn" },
  { ecosystem: "go", name: "github.com/golang/protobuf", why: "is superseded by the protobuf APIv2 module", instead: "google.golang.org/protobuf" },
  { ecosystem: "go", name: "github.com/pkg/errors", why: "is archived", instead: "the standard library's errors (%w wrapping, errors.Is/As)" },
  { ecosystem: "go", name: "github.com/dgrijalva/jwt-go", why: "is unmaintained and has a known vulnerability (CVE-2020-26160)", instead: "github.com/golang-jwt/jwt" },
  { ecosystem: "go", name: "github.com/satori/go.uuid", why: "is unmaintained and has a known flaw in random UUID generation (CVE-2021-3538)", instead: "github.com/google/uuid or github.com/gofrs/uuid" },
  { ecosystem: "cargo", name: "failure", why: "is deprecated by its maintainers", instead: "anyhow (applications) or thiserror (libraries)" },
  { ecosystem: "cargo", name: "structopt", why: "is in maintenance mode: its derive API moved into clap 3", instead: "clap with the derive feature" },
  { ecosystem: "cargo", name: "tempdir", why: "is deprecated", instead: "tempfile" },
];

/** A dependency's identity within its ecosystem: what "the same package" means there. */
export function dependencyId(ecosystem: Ecosystem, name: string): string {
  switch (ecosystem) {
    case "npm":
      return name;
    case "pypi":
      return name.toLowerCase().replace(/[-_.]+/g, "-");
    case "cargo":
      return name.toLowerCase().replace(/_/g, "-");
    case "go":
      // Major versions 2+ live at a path suffix (/v2, gopkg.in/x.v3): the same module line.
      return name.replace(/\/v\d+$/, "").replace(/^(gopkg\.in\/.+)\.v\d+$/, "$1");
  }
}

const groupsById = new Map<string, PurposeGroup>();
for (const group of PURPOSE_GROUPS) for (const member of group.members) groupsById.set(`${group.ecosystem}:${dependencyId(group.ecosystem, member)}`, group);

const retiredById = new Map<string, Retired>(RETIRED.map((entry) => [`${entry.ecosystem}:${dependencyId(entry.ecosystem, entry.name)}`, entry]));

export function purposeOf(ecosystem: Ecosystem, id: string): PurposeGroup | undefined {
  return groupsById.get(`${ecosystem}:${id}`);
}

export function retired(ecosystem: Ecosystem, id: string): Retired | undefined {
  return retiredById.get(`${ecosystem}:${id}`);
}
