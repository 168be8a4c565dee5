import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseDeadLetter, type RawMessage, replayMessage } from "../../../src/ops/dlq.ts";
import { formatList, formatShow, listEntry, showEntry } from "../../../src/cli/commands/cmd_dlq.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function raw(extra: Partial<RawMessage> = {}, headers: [string, string][] = []): RawMessage {
  return {
    seq: 7,
    subject: "jobs_dlq.charge",
    headers: [
      ["Qw-Id", "job-1"],
      ["Qw-Retries", "2"],
      ["Trace", "abc"],
      ["Qw-Dlq-Reason", "Card declined"],
      ["Qw-Dlq-Error", '{"name":"Reject","message":"Card declined"}'],
      ["Qw-Dlq-Subject", "jobs.charge"],
      ["Qw-Dlq-Seq", "41"],
      ["Qw-Dlq-Deliveries", "3"],
      ["Qw-Dlq-At", "2030-01-02T03:04:05.000Z"],
      ...headers,
    ],
    data: enc('{"args":[100]}'),
    time: new Date("2030-01-02T03:04:06.000Z"),
    ...extra,
  };
}

describe("parseDeadLetter()", () => {
  test("reads the reason, error, original subject, sequence, deliveries and time from the headers", () => {
    const dl = parseDeadLetter(raw(), "jobs");
    assert.deepEqual(listEntry(dl), {
      seq: 7,
      task: "charge",
      id: "job-1",
      reason: "Card declined",
      error: { name: "Reject", message: "Card declined" },
      originalSubject: "jobs.charge",
      originalSeq: 41,
      deliveries: 3,
      at: "2030-01-02T03:04:05.000Z",
    });
  });

  test("falls back to the dead-letter subject, the stored time and nulls when headers are missing", () => {
    const dl = parseDeadLetter(
      { seq: 1, subject: "jobs_dlq._invalid", headers: [], data: enc("x"), time: new Date(0) },
      "jobs",
    );
    assert.equal(dl.task, "_invalid");
    assert.equal(dl.id, null);
    assert.equal(dl.reason, "");
    assert.equal(dl.error, null);
    assert.equal(dl.originalSeq, null);
    assert.equal(dl.deliveries, null);
    assert.equal(dl.at, "1970-01-01T00:00:00.000Z");
  });

  test("keeps an error header that is not JSON as its message", () => {
    const odd = parseDeadLetter({ ...raw(), headers: [["Qw-Dlq-Error", "plain text"]] }, "jobs");
    assert.deepEqual(odd.error, { name: "Error", message: "plain text" });
  });
});

describe("replayMessage()", () => {
  test("targets the original subject with the same Qw-Id, no retries and a replay dedup id", () => {
    const r = replayMessage(parseDeadLetter(raw(), "jobs"), "jobs");
    assert.equal(r.subject, "jobs.charge");
    assert.equal(r.id, "job-1");
    assert.equal(r.msgId, "job-1:replay:7");
    assert.deepEqual(r.headers, [["Trace", "abc"], ["Qw-Id", "job-1"]]);
    assert.equal(new TextDecoder().decode(r.data), '{"args":[100]}');
  });

  test("gives a message without Qw-Id the id the worker gave it", () => {
    const dl = parseDeadLetter({ ...raw(), headers: raw().headers.filter(([k]) => k !== "Qw-Id") }, "jobs");
    const r = replayMessage(dl, "jobs");
    assert.equal(r.id, "jobs:41");
    assert.equal(r.msgId, "jobs:41:replay:7");
  });

  test("drops Nats-* headers and the eta so the job runs now", () => {
    const dl = parseDeadLetter(raw({}, [["Nats-Expected-Stream", "x"], ["qw-eta", "1"]]), "jobs");
    assert.deepEqual(replayMessage(dl, "jobs").headers, [["Trace", "abc"], ["Qw-Id", "job-1"]]);
  });

  test("refuses a dead letter whose original subject is not a job subject of the stream", () => {
    const other = parseDeadLetter({ ...raw(), headers: [["Qw-Dlq-Subject", "other.charge"]] }, "jobs");
    assert.throws(() => replayMessage(other, "jobs"), {
      message:
        `Cannot replay dead letter 7 as its original subject must be a job subject of stream 'jobs': current value is "other.charge"`,
    });
    const none = parseDeadLetter({ ...raw(), headers: [] }, "jobs");
    assert.throws(() => replayMessage(none, "jobs"), /current value is ""$/);
  });
});

describe("formatList()", () => {
  test("prints an aligned table with the task id and the reason last", () => {
    const a = parseDeadLetter(raw(), "jobs");
    const b = parseDeadLetter({
      ...raw({ seq: 12, subject: "jobs_dlq.x" }),
      headers: [["Qw-Dlq-Reason", "Unknown task 'x'"]],
    }, "jobs");
    assert.equal(
      formatList([a, b], "jobs_dlq"),
      [
        "SEQ  TASK    ID     ORIG SEQ  DELIVERIES  DEAD-LETTERED AT          REASON",
        "7    charge  job-1  41        3           2030-01-02T03:04:05.000Z  Card declined",
        "12   x       -      -         -           2030-01-02T03:04:06.000Z  Unknown task 'x'",
        "",
      ].join("\n"),
    );
  });

  test("says so when there are none", () => {
    assert.equal(formatList([], "jobs_dlq"), "No dead letters in stream 'jobs_dlq'\n");
  });
});

describe("show", () => {
  test("prints the summary, every header and the body", () => {
    const text = formatShow(parseDeadLetter(raw(), "jobs"));
    assert.match(text, /^Dead letter 7 \(jobs_dlq\.charge\)\n/);
    assert.match(text, /\n {2}reason: +Card declined\n/);
    assert.match(text, /\n {2}error: +Reject: Card declined\n/);
    assert.match(text, /\n {2}subject: +jobs\.charge \(seq 41, 3 deliveries\)\n/);
    assert.ok(text.includes("\nHeaders:\n  Qw-Id: job-1\n  Qw-Retries: 2\n  Trace: abc\n"));
    assert.ok(text.endsWith('\nBody (14 bytes):\n{"args":[100]}\n'));
  });

  test("shows a body that is not UTF-8 as base64", () => {
    const dl = parseDeadLetter(raw({ data: new Uint8Array([0xff, 0xfe, 0x00]) }), "jobs");
    assert.ok(formatShow(dl).endsWith("\nBody (3 bytes, not UTF-8, base64):\n//4A\n"));
    const json = showEntry(dl);
    assert.equal(json.bodyBase64, "//4A");
    assert.equal("body" in json, false);
  });

  test("gives JSON with headers in order and the body as text", () => {
    const json = showEntry(parseDeadLetter(raw(), "jobs"));
    assert.equal(json.body, '{"args":[100]}');
    assert.deepEqual((json.headers as { name: string }[]).slice(0, 3).map((h) => h.name), [
      "Qw-Id",
      "Qw-Retries",
      "Trace",
    ]);
    assert.equal(json.subject, "jobs_dlq.charge");
  });
});
