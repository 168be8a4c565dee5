/**
 * The shared test vectors of spec/: the TypeScript client encodes every job
 * and flow exactly as its vector says, the worker publishes retries, releases
 * and flow steps and stores results byte for byte as written there, and
 * decodes what reaches it; the README's "Wire format" names what the vectors
 * hold. The Python and Go clients read the same files.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { computeJob, computeRecord, type JobVector, readVectors, type ResultVector, SPEC_DIR } from "../../helpers/spec_vectors.ts";

const vectors = readVectors();

describe("spec vectors", () => {
  test("there is a vector for every enqueue form and result state", () => {
    const kinds = new Set([...vectors.values()].map((v) => v.kind));
    assert.deepEqual([...kinds].sort(), ["enqueue", "flow", "result", "retry", "revoke"]);
    const states = new Set([...vectors.values()].flatMap((v) => v.kind === "result" ? [v.input.state] : []));
    assert.deepEqual([...states].sort(), ["FAILURE", "PENDING", "PROGRESS", "RETRY", "REVOKED", "STARTED", "SUCCESS"]);
  });

  for (const [name, v] of vectors) {
    test(`${name}: ${v.description}`, () => {
      if (v.kind === "result" || v.kind === "revoke") {
        const { bucket, key, value } = v as ResultVector;
        assert.deepEqual(computeRecord(v as ResultVector), { bucket, key, value });
      } else {
        const { kind: _k, description: _d, input: _i, ...expected } = v as JobVector;
        assert.deepEqual(computeJob(v as JobVector), expected);
      }
    });
  }
});

describe("README's Wire format", () => {
  const readme = readFileSync(join(SPEC_DIR, "../README.md"), "utf8");
  const start = readme.indexOf("\n## Wire format\n");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const messages = [...vectors.values()].flatMap((v) =>
    "message" in v ? [v.message, ...(v.release ? [v.release] : []), ...(v.fired ? [v.fired] : []), ...(v.steps ?? [])] : []
  );

  test("names every header the vectors carry, and only those among qw's job headers", () => {
    const inVectors = new Set(messages.flatMap((m) => Object.keys(m.headers)).filter((h) => /^(Qw|Nats)-/.test(h)));
    const inReadme = new Set([...section.matchAll(/`((?:Qw|Nats)-[A-Za-z-]+)`/g)].map((m) => m[1]).filter((h) => !h.startsWith("Qw-Dlq-")));
    assert.deepEqual([...inReadme].sort(), [...inVectors].sort());
  });

  test("shows the subject layouts of the vectors: a task's, a priority's, the delayed, the schedule, the key and the flow subject", () => {
    const layout = (subject: string) =>
      /^[^.]+\._(sched|key)\.[^.]+\.[^.]+$/.test(subject)
        ? subject.replace(/^[^.]+\._(sched|key)\..*$/, "<stream>._$1.<task>.<token>")
        : subject.replace(/^[^.]+/, "<stream>").replace(/\.[^._][^.]*$/, ".<task>").replace(/^<stream>\.p\d\./, "<stream>.p<N>.");
    const layouts = new Set(messages.map((m) => layout(m.subject)));
    assert.deepEqual([...layouts].sort(), [
      "<stream>.<task>", "<stream>._delayed.<task>", "<stream>._flow", "<stream>._key.<task>.<token>", "<stream>._sched.<task>.<token>", "<stream>.p<N>.<task>",
    ]);
    for (const s of ["`jobs.add`", "`jobs.p9.add`", "`jobs._delayed.add`", "`jobs._sched.add.<token>`", "`jobs._key.add.<token>`", "`jobs._flow`"]) {
      assert.ok(section.includes(s), `the section shows ${s}`);
    }
  });

  test("names the buckets of the result and revoke vectors and points at spec/", () => {
    for (const v of vectors.values()) {
      if (v.kind === "result" || v.kind === "revoke") {
        const bucket = (v as ResultVector).bucket.replace(v.input.stream, "<stream>");
        assert.ok(section.includes(`\`${bucket}\``) || section.includes(`\`${bucket.replace("<stream>", "jobs")}\``), `the section names ${bucket}`);
      }
    }
    assert.ok(section.includes("spec/"), "the section points at the vectors");
  });
});
