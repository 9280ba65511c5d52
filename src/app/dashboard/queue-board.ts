import type { IncomingMessage, ServerResponse } from "node:http";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { Queue, type ConnectionOptions } from "bullmq";
import { QUEUE_NAMES } from "../../queue/queues.js";
import { REVIEW_QUEUES } from "../../queue/review-flow.js";
import { SCHEDULES_QUEUE } from "../../queue/schedulers.js";
import { BASE, QUEUES_PATH, html } from "./pages.js";

/** Every queue Conveyor uses, with what it holds (shown on the board). */
export const BOARD_QUEUES: ReadonlyArray<{ name: string; description: string }> = [
  { name: QUEUE_NAMES.events, description: "apply jobs: an issue's pending pipeline events, one issue at a time" },
  { name: QUEUE_NAMES.effects, description: "effects of applied events: GitHub calls, workflow dispatches, reviews" },
  { name: QUEUE_NAMES.timers, description: "stage timeouts and approval reminders (delayed jobs)" },
  { name: REVIEW_QUEUES.rounds, description: "review rounds: parents of the angle jobs" },
  { name: REVIEW_QUEUES.angles, description: "angle reviews (LLM calls), rate-limited" },
  { name: SCHEDULES_QUEUE, description: "repository schedules and housekeeping" },
];

export interface QueueBoard {
  /** Serves a request under QUEUES_PATH (auth already checked). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

/**
 * The UI's page links a web font from fonts.googleapis.com; the policy keeps the browser from
 * fetching it (and anything else off this server), so the board works offline and leaks no visits.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'self'; frame-ancestors 'none'";

type ExpressApp = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * BullMQ's dashboard (bull-board, Express adapter) over Conveyor's queues, read-only: a job is
 * retried or cancelled through its run (the dashboard's buttons, `conveyor runs …`), so the run's
 * event log stays the one account of what happened. The UI's scripts and styles come from
 * @bull-board/ui in node_modules.
 */
export function createQueueBoard(options: { connection: ConnectionOptions; prefix: string }): QueueBoard {
  const queues = BOARD_QUEUES.map(({ name }) => new Queue(name, { connection: options.connection, prefix: options.prefix }));
  const adapter = new ExpressAdapter().setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: queues.map((queue, i) => new BullMQAdapter(queue, { readOnlyMode: true, description: BOARD_QUEUES[i]!.description })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: "Conveyor queues", hideDocsLink: true, miscLinks: [{ text: "Runs", url: BASE }] } },
  });
  const app = adapter.getRouter() as ExpressApp;
  return {
    handle(req, res) {
      return new Promise<void>((resolve) => {
        res.once("close", () => resolve());
        res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
        res.setHeader("cache-control", "no-store");
        // Mounted as Express would mount it: the app sees paths relative to the board.
        req.url = req.url!.slice(QUEUES_PATH.length) || "/";
        if (!req.url.startsWith("/")) req.url = `/${req.url}`;
        app(req, res, (error) => {
          if (res.headersSent) return void res.end();
          html(res, error ? 500 : 404, "Not found", error ? "<p>The queue board failed; see the logs.</p>" : "<p>No such page on the queue board.</p>");
        });
      });
    },
    async close() {
      await Promise.all(queues.map((queue) => queue.close()));
    },
  };
}
