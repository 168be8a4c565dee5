// Where pauses are stored: the bucket of a stream and the key of a pause.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pauseKey, pausesBucket } from "../../../../src/client/buckets/pauses.ts";
import { STREAM_PAUSE_KEY } from "../../../../src/core/pause.ts";

describe("pauses bucket and keys", () => {
  it("the bucket is qw_<stream>_paused", () => assert.equal(pausesBucket("jobs"), "qw_jobs_paused"));
  it("the whole stream's key is 'stream'; a task's is 'task.<name>', so no task name can clash with it", () => {
    assert.equal(pauseKey(null), STREAM_PAUSE_KEY);
    assert.equal(pauseKey("stream"), "task.stream");
    assert.equal(pauseKey("resize"), "task.resize");
  });
  it("a task name that is no valid key is encoded into one", () => {
    const key = pauseKey("größe");
    assert.match(key, /^task\.[-/_=.a-zA-Z0-9]+$/);
    assert.notEqual(key, pauseKey("grosse"));
  });
});
