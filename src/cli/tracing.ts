/**
 * The binary's tracing: when an OTLP endpoint is set (`--otlp-endpoint` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT`), register OpenTelemetry's trace SDK with a
 * batch span processor and the OTLP/HTTP (JSON) exporter, and the W3C trace
 * context propagator. The only file that imports the SDK: the library parts
 * use `@opentelemetry/api` alone (README "Traces").
 *
 * @module
 */

import { diag, DiagLogLevel, propagation, trace, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { TRACER_NAME } from "../client/trace_context.ts";
import { VERSION } from "../core/version.ts";

/** The service name when `OTEL_SERVICE_NAME` is not set. */
export const DEFAULT_SERVICE_NAME = "qw";

/** Where spans go and how they are named, from the config and the standard variables. */
export interface TracingSettings {
  /** The OTLP/HTTP traces URL. */
  url: string;
  serviceName: string;
  /** `service.instance.id`: the worker's name. */
  instance: string;
  /** Milliseconds between exports (`OTEL_BSP_SCHEDULE_DELAY`, default 5000). */
  scheduledDelayMs: number;
}

/**
 * The settings of tracing, or null when no endpoint is set (or `OTEL_SDK_DISABLED` is true). The
 * traces URL is the endpoint with `/v1/traces` appended, as the OTLP exporter specification
 * says of `OTEL_EXPORTER_OTLP_ENDPOINT`. Pure.
 */
export function tracingSettings(
  endpoint: string | null,
  env: Readonly<Record<string, string | undefined>>,
  instance: string,
): TracingSettings | null {
  if (endpoint === null || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return null;
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  return {
    url: `${endpoint.replace(/\/+$/, "")}/v1/traces`,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || DEFAULT_SERVICE_NAME,
    instance,
    scheduledDelayMs: env.OTEL_BSP_SCHEDULE_DELAY !== undefined && Number.isFinite(delay) && delay >= 0 ? delay : 5000,
  };
}

/** Registered tracing: the tracer runs are traced with, and its flush for exit. */
export interface Tracing {
  tracer: Tracer;
  /** Export what is left and stop; resolves within `timeoutMs` whatever the receiver does. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** {@linkcode startTracing} with the settings of {@linkcode tracingSettings}; null when those are null. */
export function tracingFor(
  endpoint: string,
  env: Readonly<Record<string, string | undefined>>,
  o: { instance: string; onError(message: string): void },
): Tracing | null {
  const s = tracingSettings(endpoint, env, o.instance);
  if (s === null) return null;
  diag.setLogger(errorsOnly(oncePerMinute(o.onError, Date.now)), DiagLogLevel.ERROR);
  return startTracing(s);
}

/**
 * Report the first message at once, then at most one a minute with how many were left out: a receiver
 * that is down fails every export (one every 5 s), and one line a minute says so. Pure but for `now`.
 */
export function oncePerMinute(report: (message: string) => void, now: () => number): (message: string) => void {
  let last = -Infinity;
  let skipped = 0;
  return (message) => {
    const t = now();
    if (t - last < 60_000) {
      skipped++;
      return;
    }
    report(skipped === 0 ? message : `${message} (and ${skipped} more since the last one)`);
    last = t;
    skipped = 0;
  };
}

/** One line from what the SDK passes its logger: an error may come as an object or as its JSON. Pure. */
export function diagText(message: string, args: unknown[]): string {
  const one = (v: unknown): string => {
    if (typeof v === "string" && v.startsWith("{")) {
      try {
        return one(JSON.parse(v));
      } catch {
        return v;
      }
    }
    const m = (v as { message?: unknown } | null)?.message;
    return typeof m === "string" ? m : typeof v === "string" ? v : JSON.stringify(v);
  };
  return [message, ...args].map(one).filter((t) => t !== "").join(" ");
}

function errorsOnly(report: (message: string) => void) {
  const text = diagText;
  const none = () => {};
  return { error: (m: string, ...a: unknown[]) => report(text(m, a)), warn: none, info: none, debug: none, verbose: none };
}

/** Register the SDK globally (tracer provider and propagator) and return its tracer. */
export function startTracing(s: TracingSettings): Tracing {
  const exporter = new OTLPTraceExporter({ url: s.url });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: s.serviceName,
      [ATTR_SERVICE_VERSION]: VERSION,
      "service.instance.id": s.instance,
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: s.scheduledDelayMs })],
  });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    tracer: provider.getTracer(TRACER_NAME, VERSION),
    async shutdown(timeoutMs = 5000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        provider.shutdown().catch(() => {}),
        new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
      ]);
      clearTimeout(timer);
    },
  };
}
