import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * One server span per request (runtime/tracing.ts), continuing the caller's W3C `traceparent`
 * when it sent one; everything the request does (the workflow start or Update it sends to
 * Temporal) runs inside it. Named `<method> <route>` once the route is known.
 */
export function traceRequests(tracer: Tracer): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } }, parent);
    let ended = false;
    // 'close' too: a long poll the client gave up on never finishes.
    const end = () => {
      if (ended) return;
      ended = true;
      const route = req.route?.path as string | undefined;
      span.updateName(`${req.method} ${route ?? 'unmatched'}`);
      if (route) span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.on('finish', end);
    res.on('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}
