/**
 * A test receiver of OTLP/HTTP traces: an HTTP server that accepts
 * `POST /v1/traces` with a JSON body (what @opentelemetry/exporter-trace-otlp-http
 * sends) and keeps every span, flattened. Runs under Bun and Deno.
 */

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One received span, as the OTLP JSON encoding has it (ids in hex). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: { name: string; attributes: Record<string, string | number | boolean> }[];
  /** `service.name` of the resource that sent it. */
  service: string;
}

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

function attributes(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue ??
      value.doubleValue ?? "";
  }
  return out;
}

/** A running receiver; `endpoint` is the base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests that were not a JSON POST to /v1/traces. */
  readonly rejected: string[] = [];

  private constructor(private readonly server: Server, readonly endpoint: string) {}

  static async start(): Promise<OtlpReceiver> {
    let self: OtlpReceiver | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (req.method !== "POST" || req.url !== "/v1/traces" || !String(req.headers["content-type"]).includes("json")) {
          self!.rejected.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
          res.writeHead(404).end();
          return;
        }
        self!.accept(JSON.parse(body));
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const { port } = server.address() as AddressInfo;
    self = new OtlpReceiver(server, `http://127.0.0.1:${port}`);
    return self;
  }

  private accept(body: {
    resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
  }): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = String(attributes(rs.resource?.attributes)["service.name"] ?? "");
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: s.traceId as string,
            spanId: s.spanId as string,
            parentSpanId: (s.parentSpanId as string | undefined) ?? "",
            name: s.name as string,
            kind: s.kind as number,
            attributes: attributes(s.attributes as KeyValue[]),
            links: ((s.links as { traceId: string; spanId: string }[] | undefined) ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            status: (s.status as { code?: number; message?: string } | undefined)?.code === undefined
              ? { code: 0 }
              : { code: (s.status as { code: number }).code, message: (s.status as { message?: string }).message },
            events: ((s.events as { name: string; attributes?: KeyValue[] }[] | undefined) ?? []).map((e) => ({
              name: e.name,
              attributes: attributes(e.attributes),
            })),
            service,
          });
        }
      }
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
