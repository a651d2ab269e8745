/**
 * OpenTelemetry tracing (docs/operations.md, "Tracing"). Off unless `OTEL_EXPORTER_OTLP_ENDPOINT`
 * is set; then every process exports its spans over OTLP/HTTP to `<endpoint>/v1/traces`
 * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` names the full URL instead):
 *
 * - the API: one span per request (`POST /v1/actions`, …), continuing a W3C `traceparent` the
 *   caller sent, with the agent's `model.traceId` as `countersign.model.trace_id`;
 * - the Temporal client: `StartWorkflow`/`StartWorkflowUpdate` spans, passed to the workflow in
 *   its headers (Temporal's own interceptors, @temporalio/interceptors-opentelemetry);
 * - the worker: `RunWorkflow`, `StartActivity` and `RunActivity` spans, the workflow's exported
 *   through a sink (the sandbox has no network);
 * - the executor call: `traceparent` on the request, so the target's spans join the trace.
 *
 * With tracing off none of this is installed: no interceptors, no middleware, the workflow bundle
 * without the tracing module (its spans cost CPU on the workflow thread).
 */
import { context, propagation, trace, type Context, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';

/** The module the workflow bundle must include for workflow spans (workers/worker.ts). */
export const WORKFLOW_TRACING_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** A process's tracing: what its Temporal client, worker and API hook into. */
export interface Tracing {
  readonly tracer: Tracer;
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  /** Interceptors for a Temporal client (starts and Updates carry the caller's span). */
  clientInterceptors(): ClientInterceptors;
  /** Interceptors and the sink for a worker; its bundle must include {@link WORKFLOW_TRACING_MODULE}. */
  workerOptions(): { interceptors: WorkerInterceptors; sinks: InjectedSinks<Record<string, never>> };
  /** Export what is buffered now. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let installed: Tracing | undefined;

/**
 * Install tracing for this process (once; later calls return the same), exporting to `url`.
 * Registers the global tracer provider, the W3C trace-context propagator and an
 * AsyncLocalStorage context manager.
 */
export function startTracing(opts: { url: string; serviceName: string }): Tracing {
  if (installed) return installed;
  const resource = new Resource({ 'service.name': opts.serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.url }), { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  const tracer = trace.getTracer('countersign');
  const tracing: Tracing = {
    tracer,
    spanProcessor,
    resource,
    clientInterceptors: () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer })] }),
    workerOptions: () => ({
      interceptors: {
        client: { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer })] },
        workflowModules: [WORKFLOW_TRACING_MODULE],
        activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      },
      sinks: { exporter: makeWorkflowExporter(spanProcessor, resource) } as unknown as InjectedSinks<Record<string, never>>,
    }),
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      await provider.shutdown();
      installed = undefined;
    },
  };
  installed = tracing;
  return tracing;
}

/** The W3C headers (`traceparent`, `tracestate`) of the active span, for an outgoing request. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}
