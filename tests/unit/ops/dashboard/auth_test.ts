/** The dashboard's safety rules: where it may listen, and which requests go on. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bearerMatches, checkRequest, isLoopback, listenProblem } from "../../../../src/ops/dashboard/auth.ts";

const get = (path: string, headers: Record<string, string>) => ({ method: "GET", path, headers });
const post = (path: string, headers: Record<string, string>) => ({ method: "POST", path, headers });

describe("dashboard auth", () => {
  test("isLoopback() and listenProblem(): any address but loopback needs a token", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) assert.equal(isLoopback(h), true, h);
    for (const h of ["0.0.0.0", "10.0.0.1", "::", "example.com", "127.0.0.1.example.com"]) assert.equal(isLoopback(h), false, h);
    assert.equal(listenProblem("127.0.0.1", null), null);
    assert.equal(listenProblem("0.0.0.0", "t"), null);
    assert.equal(
      listenProblem("0.0.0.0", null),
      "Cannot serve the dashboard on '0.0.0.0' without a token: pass --http-token (or QW_HTTP_TOKEN), or bind to 127.0.0.1",
    );
  });

  test("without a token: loopback Host names only (no DNS rebinding), POSTs from this origin only", () => {
    assert.equal(checkRequest(get("/api/overview", { host: "127.0.0.1:8080" }), null), null);
    assert.equal(checkRequest(get("/", { host: "localhost:8080" }), null), null);
    assert.equal(checkRequest(get("/api/overview", { host: "evil.example:8080" }), null)?.status, 403);
    assert.equal(checkRequest(post("/api/dlq/purge", { host: "127.0.0.1:8080", origin: "http://127.0.0.1:8080" }), null), null);
    assert.equal(checkRequest(post("/api/dlq/purge", { host: "127.0.0.1:8080" }), null), null, "curl sends no Origin");
    assert.equal(checkRequest(post("/api/dlq/purge", { host: "127.0.0.1:8080", origin: "https://evil.example" }), null)?.status, 403);
    assert.equal(checkRequest(post("/api/dlq/purge", { host: "127.0.0.1:8080", origin: "null" }), null)?.status, 403);
  });

  test("with a token: every API request carries it; the page itself does not need it", () => {
    const auth = { host: "10.0.0.5:8080", authorization: "Bearer s3cret" };
    assert.equal(checkRequest(get("/", { host: "10.0.0.5:8080" }), "s3cret"), null);
    assert.equal(checkRequest(get("/api/overview", auth), "s3cret"), null);
    assert.equal(checkRequest(post("/api/dlq/1/replay", { ...auth, origin: "http://10.0.0.5:8080" }), "s3cret"), null);
    assert.equal(checkRequest(get("/api/overview", { host: "10.0.0.5:8080" }), "s3cret")?.status, 401);
    assert.equal(checkRequest(post("/api/dlq/purge", { ...auth, authorization: "Bearer nope" }), "s3cret")?.status, 401);
    assert.equal(checkRequest(post("/api/dlq/purge", { ...auth, origin: "http://evil.example" }), "s3cret")?.status, 403);
  });

  test("bearerMatches() compares the whole token", () => {
    assert.equal(bearerMatches("Bearer abc", "abc"), true);
    assert.equal(bearerMatches("bearer abc ", "abc"), true);
    for (const h of [undefined, "", "abc", "Bearer ab", "Bearer abcd", "Basic abc"]) assert.equal(bearerMatches(h, "abc"), false, String(h));
  });
});
