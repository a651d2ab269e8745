/**
 * `usage` in CEL (budgets and rate limits, domain/usage.ts): the values the CEL functions read,
 * and the static scan that finds which calls a rule makes.
 *
 * Evaluation is pure: `usage.count("1h")` does not query anything, it reads the figure the
 * policy activity gathered for exactly that call before evaluation. A call whose figure was not
 * gathered is a runtime error, so the rule fails closed (a deny or approval rule matches, an allow
 * rule does not), never a silent zero.
 */
import type { ASTNode } from '@marcbachmann/cel-js';
import { MAX_USAGE_WINDOW_MS, USAGE_PATH, usageKey, usagePathSegments, type UsageCall, type UsageFigures } from '../domain/usage';
import { DURATION_SYNTAX_HINT, parseDuration } from './duration';

/** `usage.agent`: this agent's actions of every name. */
export class AgentUsageView {
  constructor(private readonly figures: UsageFigures | undefined) {}

  /** `usage.agent.count(window)`. */
  count(window: string): bigint {
    return BigInt(figure(this.figures, usageKey({ kind: 'agent.count', window }), `usage.agent.count(${JSON.stringify(window)})`));
  }
}

/** `usage`: this agent's actions of the action name being decided. */
export class UsageView {
  readonly agent: AgentUsageView;

  constructor(private readonly figures: UsageFigures | undefined) {
    this.agent = new AgentUsageView(figures);
  }

  /** `usage.count(window)`. */
  count(window: string): bigint {
    return BigInt(figure(this.figures, usageKey({ kind: 'count', window }), `usage.count(${JSON.stringify(window)})`));
  }

  /** `usage.sum(path, window)`. */
  sum(path: string, window: string): number {
    return figure(this.figures, usageKey({ kind: 'sum', path, window }), `usage.sum(${JSON.stringify(path)}, ${JSON.stringify(window)})`);
  }
}

/** No usage gathered: every call fails (closed). Shared, immutable. */
export const NO_USAGE = new UsageView(undefined);

function figure(figures: UsageFigures | undefined, key: string, call: string): number {
  const value = figures?.[key];
  if (value === undefined) throw new Error(`${call}: no usage figure was gathered for this evaluation`);
  return value;
}

/** A problem found by {@link findUsageCalls}, at an offset of the expression. */
export interface UsageProblem {
  message: string;
  offset: number | undefined;
}

/**
 * Every `usage` call of an expression, with literal arguments checked: a window must be a bundle
 * duration of at most 90 days, a sum's path a dotted params path. Arguments must be string
 * literals (the figures are gathered before evaluation, so they must be known then).
 */
export function findUsageCalls(root: ASTNode): { calls: UsageCall[]; problem?: UsageProblem } {
  const calls: UsageCall[] = [];
  let problem: UsageProblem | undefined;
  const isUsage = (n: ASTNode, bound: ReadonlySet<string>) => n.op === 'id' && n.args === 'usage' && !bound.has('usage');
  const literal = (n: ASTNode | undefined): string | undefined => (n && n.op === 'value' && typeof n.args === 'string' ? n.args : undefined);
  const windowOf = (n: ASTNode | undefined, call: string): { window: string; windowMs: number } | undefined => {
    const text = literal(n);
    if (text === undefined) {
      problem ??= { message: `${call}: the window must be a string literal such as "1h" or "24h"`, offset: n?.range?.start };
      return undefined;
    }
    const ms = parseDuration(text);
    if (ms === undefined) {
      problem ??= { message: `${call}: window ${JSON.stringify(text)} is not a duration (${DURATION_SYNTAX_HINT})`, offset: n?.range?.start };
      return undefined;
    }
    if (ms > MAX_USAGE_WINDOW_MS) {
      problem ??= { message: `${call}: window ${JSON.stringify(text)} is longer than 90d, the longest a usage window may be`, offset: n?.range?.start };
      return undefined;
    }
    return { window: text, windowMs: ms };
  };
  const visit = (node: unknown, bound: ReadonlySet<string>): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child, bound);
      return;
    }
    if (node === null || typeof node !== 'object' || !('op' in node)) return;
    const n = node as ASTNode;
    if (n.op === 'value' || n.op === 'id') return;
    if (n.op === 'rcall') {
      const [name, receiver, args] = n.args as [string, ASTNode, ASTNode[]];
      const onUsage = isUsage(receiver, bound);
      const onAgent = receiver.op === '.' && receiver.args[1] === 'agent' && isUsage(receiver.args[0], bound);
      if (onUsage && name === 'count' && args.length === 1) {
        const w = windowOf(args[0], 'usage.count');
        if (w) calls.push({ kind: 'count', ...w, at: args[0]?.range?.start });
        return;
      }
      if (onAgent && name === 'count' && args.length === 1) {
        const w = windowOf(args[0], 'usage.agent.count');
        if (w) calls.push({ kind: 'agent.count', ...w, at: args[0]?.range?.start });
        return;
      }
      if (onUsage && name === 'sum' && args.length === 2) {
        const path = literal(args[0]);
        if (path === undefined || !USAGE_PATH.test(path)) {
          problem ??= {
            message: `usage.sum: the first argument must be a params path as a string literal, such as "amount" or "order.total"${path !== undefined ? ` (not ${JSON.stringify(path)})` : ''}`,
            offset: args[0]?.range?.start,
          };
          return;
        }
        const w = windowOf(args[1], 'usage.sum');
        if (w) calls.push({ kind: 'sum', path, ...w, at: args[0]?.range?.start });
        return;
      }
      if (ITERATING.has(name) && args.length >= 2 && args[0]?.op === 'id') {
        visit(receiver, bound);
        visit(args.slice(1), new Set(bound).add(args[0].args as string));
        return;
      }
    }
    visit(n.args, bound);
  };
  visit(root, new Set());
  return { calls, ...(problem ? { problem } : {}) };
}

const ITERATING = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/**
 * Why a params path does not name a number in an action's params JSON Schema, or undefined when
 * it does (or the schema leaves that part of the params free-form, where it may).
 */
export function usagePathProblem(schema: Record<string, unknown>, path: string): string | undefined {
  let node: unknown = schema;
  const segments = usagePathSegments(path);
  for (let i = 0; i < segments.length; i++) {
    if (!isObject(node)) return undefined;
    const properties = node.properties;
    if (!isObject(properties)) {
      if (node.additionalProperties === false) return `params has no ${segments.slice(0, i + 1).join('.')}`;
      return undefined;
    }
    if (!(segments[i]! in properties)) {
      if (node.additionalProperties !== undefined && node.additionalProperties !== false) return undefined;
      const known = Object.keys(properties);
      return `params has no ${segments.slice(0, i + 1).join('.')}${known.length ? ` (it has ${known.slice(0, 8).join(', ')})` : ''}`;
    }
    node = properties[segments[i]!];
  }
  if (isObject(node) && node.type !== undefined) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.some((t) => t === 'number' || t === 'integer')) return `params.${path} is ${types.join(' | ')}, not a number`;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
