import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatInit, initPlan } from "../../../../src/cli/commands/cmd_init.ts";
import { namesFor } from "../../../../src/client/topology.ts";

describe("qw init", () => {
  test("initPlan() sets up the worker's streams and consumers, and the bucket only with results", () => {
    const names = namesFor("jobs", null);
    assert.deepEqual(initPlan(names, true).map((i) => `${i.kind} ${i.name}`), [
      "stream jobs", "consumer qw_jobs", "consumer qw_jobs_delayed", "stream jobs_dlq", "KV bucket qw_jobs_results",
    ]);
    assert.equal(initPlan(names, false).length, 4);
  });

  test("formatInit() aligns one line a thing, created or existing", () => {
    assert.equal(
      formatInit([
        { kind: "stream", name: "jobs", what: "jobs", existed: true },
        { kind: "KV bucket", name: "qw_jobs_results", what: "results", existed: false },
      ]),
      "stream 'jobs'                exists   jobs\nKV bucket 'qw_jobs_results'  created  results\n",
    );
  });
});
