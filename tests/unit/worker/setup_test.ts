import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setupFailure } from "../../../src/worker/setup.ts";

describe("setupFailure()", () => {
  it("tells a create raced by another process from a server without JetStream, a leaderless cluster and a real error", () => {
    assert.equal(setupFailure("subjects overlap with an existing stream"), "race");
    assert.equal(setupFailure("stream name already in use with a different configuration"), "race");
    assert.equal(setupFailure("JetStream not enabled for account"), "no_jetstream");
    assert.equal(setupFailure("503 no responders available"), "no_jetstream");
    assert.equal(setupFailure("TIMEOUT"), "timeout");
    assert.equal(setupFailure("request timed out"), "timeout");
    assert.equal(setupFailure("insufficient resources"), "fatal");
    assert.equal(setupFailure("Authorization Violation"), "fatal");
  });
});
