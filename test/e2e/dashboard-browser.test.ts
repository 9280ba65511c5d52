// The dashboard in a real browser: Debian's chromium driven by playwright-core (never a
// downloaded browser). A webhook through Probot starts the run; the browser signs in with the
// token, opens the runs list and the run, and watches the page change without a reload (SSE) as
// a webhook comment and an operator command reach the app from outside the page; then it opens
// the queue board. Screenshots go to test-output/.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOARD_QUEUES } from "../../src/app/dashboard/queue-board.js";
import { startTestConveyor, type TestConveyor } from "../support/conveyor.js";
import { KEY, RUN_ID as RUN, issueComment, labeled } from "../support/scenario.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const IN_CI = Boolean(process.env.CI) && process.env.CI !== "false";
const MISSING = !existsSync(CHROMIUM);
const OUTPUT = join(process.cwd(), "test-output");
const TOKEN = "browser-token-0123456789";

// Without chromium the test skips locally, saying why in its name; in CI it fails instead.
const SKIP_REASON = `no ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) to run the browser test`;
if (MISSING && !IN_CI) console.warn(`dashboard-browser.test.ts skipped: ${SKIP_REASON}`);
const title = MISSING && !IN_CI ? `dashboard in chromium (SKIPPED: ${SKIP_REASON})` : "dashboard in chromium";

describe.skipIf(MISSING && !IN_CI)(title, () => {
  let app: TestConveyor;
  let browser: Browser;
  let page: Page;
  /** Requests to any host but the app's: [url, why it failed or "fetched"]. */
  const offsite: Array<[string, string]> = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (MISSING) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH; the browser test does not skip in CI`);
    mkdirSync(OUTPUT, { recursive: true });
    app = await startTestConveyor("web", { DASHBOARD_TOKEN: TOKEN });
    // The web role logs events; no worker runs here, so the test applies them itself.
    expect((await app.deliver(labeled())).status).toBe(200);
    await app.conveyor.engine.apply(KEY);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // Fail with the locator in the message well before the test timeout.
    page.setDefaultTimeout(10_000);
    const away = (url: string) => new URL(url).hostname !== "127.0.0.1";
    page.on("requestfinished", (request) => void (away(request.url()) && offsite.push([request.url(), "fetched"])));
    page.on("requestfailed", (request) => void (away(request.url()) && offsite.push([request.url(), request.failure()?.errorText ?? "failed"])));
    page.on("pageerror", (error) => pageErrors.push(error.message));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it("signs in with the token and lists the run", async () => {
    const response = await page.goto(`${app.url}/dashboard/login?token=${TOKEN}`);
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe("/dashboard");
    const row = page.locator(`tr[data-run="${RUN}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain("Codertocat/Hello-World");
    await page.screenshot({ path: join(OUTPUT, "dashboard-runs.png"), fullPage: true });
  });

  it("opens the run, and shows a webhook and an operator command as they arrive, without reloading (SSE)", async () => {
    await page.click(`a[href="/dashboard/runs/${RUN}"]`);
    await page.waitForURL(`**/dashboard/runs/${RUN}`);
    expect(await page.locator("h1").innerText()).toMatch(new RegExp(`^Run ${RUN}: Codertocat/Hello-World#1 `));
    expect(await page.locator("#state").innerText()).toBe("active");
    // The first SSE update marks the body: the stream is connected before anything else happens.
    // (Page code as strings: the project compiles without the DOM library.)
    await page.waitForFunction("document.body.dataset.version !== undefined");
    await page.evaluate("window.sameDocument = true");

    // A comment webhook through Probot: logged at once, shown as pending until applied.
    expect((await app.deliver(issueComment("maintainer", "/conveyor status"))).status).toBe(200);
    await page.locator("#timeline tr", { hasText: "… command.received" }).waitFor();
    await app.conveyor.engine.apply(KEY);
    await page.locator("#timeline tr", { hasText: "✓ command.received" }).waitFor();

    // An operator command through the dashboard's API, from another client.
    const pause = await fetch(`${app.url}/dashboard/runs/${RUN}/actions/pause`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, accept: "application/json" } });
    expect(await pause.json()).toMatchObject({ status: "applied" });
    await page.locator("#state", { hasText: "paused" }).waitFor();
    await page.locator("#timeline tr", { hasText: "operator.command" }).waitFor();

    expect(await page.evaluate("window.sameDocument")).toBe(true);
    await page.screenshot({ path: join(OUTPUT, "dashboard-run-live.png"), fullPage: true });
  });

  it("shows a refused action's reason on the run page", async () => {
    await page.click('button[value="retry"]');
    await page.waitForURL(/notice=/);
    expect(await page.locator("#notice").innerText()).toContain("retry: refused: the run is paused; retry is for parked or failed runs");
    expect(await page.locator("#state").innerText()).toBe("paused");
  });

  it("opens the queue board, rendered from node_modules, with every Conveyor queue", async () => {
    const response = await page.goto(`${app.url}/dashboard/queues`);
    expect(response?.status()).toBe(200);
    for (const { name } of BOARD_QUEUES) await page.getByText(name, { exact: true }).first().waitFor();
    await page.screenshot({ path: join(OUTPUT, "queue-board.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
    // The board's page links a web font on fonts.googleapis.com; its CSP blocks it, so nothing
    // was fetched from elsewhere (offline or not).
    expect(offsite.length).toBeGreaterThan(0);
    for (const [url, outcome] of offsite) expect(outcome, url).toMatch(/csp/i);
  });

  it("sends a browser without the session cookie away with 401 and no run or queue data", async () => {
    const anonymous = await browser.newPage();
    for (const path of ["/dashboard", `/dashboard/runs/${RUN}`, "/dashboard/queues"]) {
      const response = await anonymous.goto(`${app.url}${path}`);
      expect(response?.status(), path).toBe(401);
      const text = await anonymous.locator("body").innerText();
      expect(text).not.toContain(RUN);
      for (const { name } of BOARD_QUEUES) expect(text).not.toContain(name);
    }
    await anonymous.close();
  });
});
