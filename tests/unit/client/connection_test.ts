/** Which connect errors are a refusal of the credentials (fail at once) and which are worth retrying. */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { refusedCredentials } from "../../../src/client/connection.ts";

describe("refusedCredentials()", () => {
  it("refusedCredentials() is true for what servers say when they refuse the credentials", () => {
    for (
      const message of [
        "Authorization Violation",
        "'Authentication Timeout'",
        "user authentication expired",
        "error:10000412:SSL routines:OPENSSL_internal:SSLV3_ALERT_BAD_CERTIFICATE", // 2.9.10
        "error:10000418:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA", // 2.15.3
        "received fatal alert: UnknownCA",
        "tls: certificate required",
      ]
    ) assert.equal(refusedCredentials(message), true, message);
  });

  it("refusedCredentials() is false for errors a retry may get past", () => {
    for (const message of ["connection refused", "CONNECTION_REFUSED", "timeout", "ECONNRESET"]) {
      assert.equal(refusedCredentials(message), false, message);
    }
  });
});
