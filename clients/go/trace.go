package qw

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the client's spans.
const tracerName = "github.com/qwjobs/qw-go"

// startSend starts the send span of one publish (OpenTelemetry's messaging conventions),
// child of the span in ctx, and writes its context into headers as W3C traceparent and
// tracestate through the global propagator, unless the caller set a traceparent. With no
// SDK and no propagator registered (otel's defaults) it writes nothing.
func startSend(ctx context.Context, subject, id string, headers map[string]string) trace.Span {
	ctx, span := otel.Tracer(tracerName).Start(ctx, "send "+subject,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", subject),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.operation.name", "send"),
			attribute.String("messaging.message.id", id),
		))
	if _, ok := headers["traceparent"]; !ok {
		otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(headers))
	}
	return span
}

// startSendMany starts one send span for the jobs of EnqueueMany (one atomic batch or many
// publishes), and writes its context into every message's headers.
func startSendMany(ctx context.Context, stream string, msgs []message) trace.Span {
	ctx, span := otel.Tracer(tracerName).Start(ctx, "send "+stream,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", stream),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.operation.name", "send"),
			attribute.Int("messaging.batch.message_count", len(msgs)),
		))
	p := otel.GetTextMapPropagator()
	for _, m := range msgs {
		if _, ok := m.headers["traceparent"]; !ok {
			p.Inject(ctx, propagation.MapCarrier(m.headers))
		}
	}
	return span
}

// endSend ends a send span, failed with err when the publish failed.
func endSend(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetAttributes(attribute.String("error.type", fmt.Sprintf("%T", err)))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
