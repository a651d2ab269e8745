import type { z } from 'zod';
import { CountersignError, type FieldError } from '../domain/errors';

/** zod issue path -> JSON pointer (`/params/amount`); query paths keep the parameter name. */
function pointer(path: PropertyKey[]): string {
  return '/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/** Parse a request body with a domain schema; 422 with every field error otherwise. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined) {
    throw new CountersignError('validation', 'a JSON body is required (Content-Type: application/json)', [{ path: '/', message: 'missing body' }]);
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const errors: FieldError[] = r.error.issues.map((i) => ({ path: pointer(i.path), message: i.message }));
  throw new CountersignError('validation', `invalid request body: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
}

/** Parse a query string with a schema (empty parameters count as absent); 422 naming the parameters otherwise. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  // `?status=&limit=` from a form or a generated client means "not given", not "empty".
  const given = Object.fromEntries(Object.entries((query ?? {}) as Record<string, unknown>).filter(([, v]) => v !== ''));
  const r = schema.safeParse(given);
  if (r.success) return r.data;
  const errors: FieldError[] = r.error.issues.map((i) => ({ path: i.path.length ? String(i.path[0]) : '?', message: i.message }));
  throw new CountersignError('validation', `invalid query: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
}
