import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { _setCurrentTask, currentTask } from "../../../../src/core/task/task_api.ts";
import type { TaskContext } from "../../../../src/core/types.ts";

describe("currentTask()", () => {
  test("currentTask() throws outside a task", () => {
    assert.throws(() => currentTask(), /^Error: Cannot get the current task as no task is running in this thread$/);
  });

  test("currentTask() of another copy of the module sees the running job (a tasks file's own @qwjobs/qw/tasks)", async () => {
    const copy: typeof import("../../../../src/core/task/task_api.ts") = await import(
      new URL("../../../../src/core/task/task_api.ts?copy", import.meta.url).href
    );
    const ctx = { id: "t1", name: "charge" } as TaskContext;
    _setCurrentTask(() => ctx);
    try {
      // Deno loads a second instance for the query; Bun the same one, so there the slot is checked to be global.
      if (copy.currentTask !== currentTask) assert.equal(copy.currentTask(), ctx);
      else assert.equal((globalThis as Record<symbol, () => TaskContext>)[Symbol.for("qw.currentTask")](), ctx);
    } finally {
      _setCurrentTask(null);
    }
    assert.throws(() => copy.currentTask());
  });
});
