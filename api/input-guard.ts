/**
 * The edge check of domain/input-rules.ts for everything a request carries: its JSON body (with
 * the source text, so numbers that would lose digits are seen), its query parameters and its
 * path. A request that fails it is refused before any route runs, so nothing it holds can reach
 * Postgres or Temporal.
 */
import type { NextFunction, Request, Response } from 'express';
import { CountersignError, type FieldError } from '../domain/errors';
import { inputProblems, textProblem } from '../domain/input-rules';

declare module 'express-serve-static-core' {
  interface Request {
    /** The JSON body's source text, kept by {@link keepJsonSource} for the number check. */
    jsonSource?: string;
  }
}

/** `verify` hook of express.json: keep the body's text for {@link checkRequestInput}. */
export function keepJsonSource(req: Request, _res: Response, buf: Buffer, encoding: string): void {
  // JSON exchanged between systems is UTF-8 (RFC 8259); body-parser would also read UTF-16/32,
  // which Buffer cannot decode: refuse those as an unsupported charset (415), not a crash.
  if (encoding && !/^utf-?8$/i.test(encoding)) {
    throw Object.assign(new Error(`send JSON as UTF-8, not ${encoding}`), { type: 'charset.unsupported', status: 415 });
  }
  req.jsonSource = buf.toString('utf8');
}

/** Refuse a request whose path, query or JSON body holds input the API cannot store exactly. */
export function checkRequestInput(req: Request, _res: Response, next: NextFunction): void {
  const pathProblems = pathProblemsOf(req.path);
  if (pathProblems.length > 0) return next(refusal('path', pathProblems));
  const query: FieldError[] = [];
  for (const [name, raw] of Object.entries(req.query)) {
    const nameProblem = textProblem(name);
    if (nameProblem) query.push({ path: name.toWellFormed().replace(/\u0000/g, '\\u0000'), message: `query parameter name ${nameProblem}` });
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      const p = typeof value === 'string' ? textProblem(value) : undefined;
      if (p) query.push({ path: name, message: p });
    }
  }
  if (query.length > 0) return next(refusal('query', query));
  if (req.jsonSource !== undefined) {
    const body = inputProblems(req.body, req.jsonSource);
    req.jsonSource = undefined;
    if (body.length > 0) return next(refusal('body', body));
  }
  next();
}

/**
 * Path segments, percent-decoded as routes will see them. Express would answer a segment that
 * is not valid percent-encoded UTF-8 on its own; here it is a precise 400 instead.
 */
function pathProblemsOf(path: string): FieldError[] {
  if (!path.includes('%')) return [];
  const problems: FieldError[] = [];
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new CountersignError('malformed-request', `the path segment ${JSON.stringify(segment)} is not valid percent-encoded UTF-8`, [
        { path: 'path', message: `${segment} does not decode to UTF-8 text` },
      ]);
    }
    const p = textProblem(decoded);
    if (p) problems.push({ path: 'path', message: `the path segment ${segment} ${p}` });
  }
  return problems;
}

function refusal(where: 'path' | 'query' | 'body', errors: FieldError[]): CountersignError {
  const list = errors.map((e) => `${e.path} ${e.message}`).join('; ');
  return new CountersignError('validation', `the request ${where} holds input that cannot be stored: ${list}`, errors);
}
