// GitHub is faked at HTTP level: any request that no nock interceptor matches fails the test,
// except loopback traffic (Redis, the app's own HTTP server, fake GitHub servers).
import nock from "nock";
import { afterEach } from "vitest";

nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);

afterEach(() => {
  nock.cleanAll();
});
