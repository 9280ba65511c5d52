import type { Logger } from "pino";
import type { Engine } from "../queue/engine.js";
import { issueKey, issueKeyOfRunId, type IssueKey } from "../queue/keys.js";
import { parseImplementRunName } from "../pipeline/implementer.js";
import { DEFAULT_CONFIG } from "../pipeline/config.js";
import { repositoryIdOf, routeWebhook, type Route, type RouteOptions } from "./route-webhook.js";

export interface Delivery {
  id: string;
  name: string;
  payload: unknown;
}

export type IngressOutcome =
  | { status: "accepted"; appended: number; duplicates: number; noRun: number }
  | { status: "ignored"; reason: string }
  | { status: "malformed"; problems: string[] };

/**
 * The webhook handler's whole job: map the payload to events, find the issue they belong to and
 * log them, deduplicated by delivery id in the same Redis step. Stage work happens in workers;
 * GitHub gets its answer in a few milliseconds.
 */
export class Ingress {
  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async accept(delivery: Delivery): Promise<IngressOutcome> {
    const log = this.log.child({ deliveryId: delivery.id, event: delivery.name });
    const result = routeWebhook(delivery.name, delivery.payload, this.clock().toISOString(), await this.routeOptions(delivery));
    if (result.status === "malformed") {
      log.warn({ problems: result.problems }, `ignored malformed ${delivery.name} payload: ${result.problems.join("; ")}`);
      return result;
    }
    if (result.status === "ignored") {
      log.debug(result.reason);
      return result;
    }
    let appended = 0;
    let duplicates = 0;
    let noRun = 0;
    for (const [index, { route, event, requiresRun }] of result.routed.entries()) {
      const key = await this.resolve(route);
      if (!key) {
        noRun++;
        log.debug({ route }, "no run owns this pull request");
        continue;
      }
      if (event.type === "issue.labeled") {
        const trigger = (await this.engine.store.repoSettings(event.repo.id)).label ?? DEFAULT_CONFIG.label;
        if (event.label !== trigger) return { status: "ignored", reason: `label "${event.label}" is not the trigger label "${trigger}"` };
      }
      const source = result.routed.length > 1 ? `${delivery.id}-${index}` : delivery.id;
      const outcome = await this.engine.submit(key, event, { source, requiresRun });
      if (outcome.status === "appended") appended++;
      else if (outcome.status === "duplicate") duplicates++;
      else noRun++;
      log.info({ issueKey: key, outcome: outcome.status }, `${event.type} ${outcome.status}`);
    }
    return { status: "accepted", appended, duplicates, noRun };
  }

  /** Comments are parsed with the repository's own command prefix, as its status comments advertise. */
  private async routeOptions(delivery: Delivery): Promise<RouteOptions> {
    if (delivery.name !== "issue_comment") return {};
    const repoId = repositoryIdOf(delivery.payload);
    if (repoId === null) return {};
    return { commandPrefix: (await this.engine.store.repoSettings(repoId)).commandPrefix ?? DEFAULT_CONFIG.commandPrefix };
  }

  private async resolve(route: Route): Promise<IssueKey | null> {
    if (route.kind === "issue") return issueKey(route.repoId, route.issue);
    if (route.kind === "workflow-run") {
      // The dispatch's workflow_run_id once recorded; before that, the run name the caller set.
      const indexed = await this.engine.store.issueOfWorkflowRun(route.workflowRunId);
      if (indexed) return indexed;
      const named = parseImplementRunName(route.runName);
      return named && named.runId.startsWith(`${route.repoId}-`) ? issueKeyOfRunId(named.runId) : null;
    }
    // Only pull requests a run opened are indexed; any other PR is none of Conveyor's business.
    return this.engine.store.issueOfPullRequest(route.repoId, route.pr);
  }
}
