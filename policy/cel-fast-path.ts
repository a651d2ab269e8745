/**
 * Pre-compiled fast path for the common shape of policy conditions.
 *
 * cel-js interprets its AST and resolves operator overloads for `dyn` values (every field of
 * `params`) on each call: ~250 ns per clause. Policy conditions are overwhelmingly simple —
 * field lookups compared with literals, joined by `&&`/`||` — so the checked AST of such an
 * expression is compiled once into a small JS function (one per expression, like ajv does for
 * schemas, so every property access gets its own inline cache).
 *
 * The generated code only answers when the answer is unambiguous: numbers against numbers,
 * strings against strings, booleans, present keys, and a boolean result. Anything else (a
 * missing key, mixed types, a value it does not model) returns {@link FALLBACK}, and the
 * caller re-runs the whole expression in cel-js — so results and errors are cel-js's by
 * construction; the fast path only skips work. Expressions using anything outside the subset
 * (macros, arithmetic, `size`, timestamps, …) are not compiled and always run in cel-js.
 *
 * Generated code contains no text from the policy other than JSON-escaped string literals,
 * finite numeric literals and the seven fixed variable names.
 *
 * Cost: the generated code has no loops (macros are never compiled here, and `in` is a Set
 * lookup on a literal list), so each node runs once per evaluation; string tests (`contains`,
 * `startsWith`, `endsWith`, RE2 `matches`) read their string once. What it hands back to cel-js
 * is bounded by the input limits and the nesting check (see cel-engine.ts).
 */
import type { ASTNode } from '@marcbachmann/cel-js';
import type { PolicyActivation } from './cel-engine';

/** "Ask cel-js": the fast path cannot answer this evaluation exactly. */
export const FALLBACK: unique symbol = Symbol('cel-fast-path-fallback');

/** A compiled condition: `true`, `false`, or {@link FALLBACK}. */
export type FastProgram = (activation: PolicyActivation) => boolean | typeof FALLBACK;

const VARIABLES = new Set(['action', 'params', 'resource', 'context', 'agent', 'onBehalfOf', 'facts']);

/** Thrown internally when an AST node is outside the supported subset. */
class Unsupported extends Error {}

type Literal = string | number | boolean | null;

/** Only plain objects are maps here; anything else (Map, arrays, class instances) goes to cel-js. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isPrimitive(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && v === v);
}

/** Equality the fast path can decide exactly: same primitive kind, or null against a primitive. */
function equalOrFallback(a: unknown, b: unknown): boolean | typeof FALLBACK {
  if (!isPrimitive(a) || !isPrimitive(b)) return FALLBACK;
  if (a === null || b === null) return a === b;
  if (typeof a !== typeof b) return FALLBACK; // heterogeneous equality: let cel-js answer
  return a === b;
}

/**
 * Compile a checked cel-js AST, or return `undefined` when the expression uses anything
 * outside the subset.
 *
 * @param re2Test the RE2 `matches` implementation the engine routes `matchRE` calls to.
 */
export function compileFastPath(ast: ASTNode, re2Test: (text: string, pattern: string) => boolean): FastProgram | undefined {
  const gen = new CodeGen();
  let result: string;
  try {
    result = gen.node(ast);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  // Only booleans leave the fast path: inside it CEL ints are JS numbers, exact for
  // comparisons but not a faithful CEL value to hand back.
  const body = `${gen.lines.join('\n')}\nif (${result} !== true && ${result} !== false) return F;\nreturn ${result};`;
  const factory = new Function('F', 'isObj', 'hasOwn', 're2', 'eq', 'C', `"use strict";\nreturn function celFastPath(a) {\n${body}\n};`);
  return factory(FALLBACK, isPlainObject, Object.hasOwn, re2Test, equalOrFallback, gen.constants) as FastProgram;
}

class CodeGen {
  readonly lines: string[] = [];
  /** Values the generated code refers to as C[i] (sets for `in`). */
  readonly constants: unknown[] = [];
  private next = 0;

  private temp(): string {
    return `t${this.next++}`;
  }

  private emit(line: string): void {
    this.lines.push(line);
  }

  /** Emit code for `node`; returns the name of the variable holding its value. */
  node(node: ASTNode): string {
    const lit = literalOf(node);
    if (lit !== undefined) {
      const t = this.temp();
      this.emit(`const ${t} = ${jsLiteral(lit.value)};`);
      return t;
    }
    switch (node.op) {
      case 'id': {
        if (!VARIABLES.has(node.args)) throw new Unsupported();
        const t = this.temp();
        this.emit(`const ${t} = a.${node.args};`);
        this.emit(`if (${t} === undefined) return F;`);
        return t;
      }
      case '.':
        return this.select(this.node(node.args[0]), node.args[1]);
      case '[]': {
        const key = literalOf(node.args[1]);
        if (!key || typeof key.value !== 'string') throw new Unsupported();
        return this.select(this.node(node.args[0]), key.value);
      }
      case 'call': {
        const [name, args] = node.args;
        if (name !== 'has' || args.length !== 1 || args[0]!.op !== '.') throw new Unsupported();
        const [objNode, key] = args[0]!.args as [ASTNode, string];
        const o = this.node(objNode);
        const t = this.temp();
        this.emit(`if (!isObj(${o})) return F;`);
        this.emit(`const ${t} = hasOwn(${o}, ${JSON.stringify(key)});`);
        return t;
      }
      case 'rcall': {
        const [name, receiverNode, args] = node.args;
        if (args.length !== 1) throw new Unsupported();
        let method: string | undefined;
        if (name === 'startsWith' || name === 'endsWith') method = name;
        else if (name === 'contains') method = 'includes';
        else if (name !== 'matchRE') throw new Unsupported();
        const s = this.node(receiverNode);
        const p = this.node(args[0]!);
        const t = this.temp();
        this.emit(`if (typeof ${s} !== "string" || typeof ${p} !== "string") return F;`);
        if (method !== undefined) {
          this.emit(`const ${t} = ${s}.${method}(${p});`);
        } else {
          // An invalid dynamic pattern: cel-js reports the error.
          this.emit(`let ${t};\ntry { ${t} = re2(${s}, ${p}); } catch { return F; }`);
        }
        return t;
      }
      case '&&':
      case '||': {
        const left = this.node(node.args[0]);
        const t = this.temp();
        this.emit(`if (${left} !== true && ${left} !== false) return F;`);
        this.emit(`let ${t} = ${left};`);
        // false && … is false, true || … is true, without evaluating the right side.
        this.emit(`if (${left} === ${node.op === '&&' ? 'true' : 'false'}) {`);
        const right = this.node(node.args[1]);
        this.emit(`if (${right} !== true && ${right} !== false) return F;`);
        this.emit(`${t} = ${right};\n}`);
        return t;
      }
      case '!_': {
        const inner = this.node(node.args);
        const t = this.temp();
        this.emit(`if (${inner} !== true && ${inner} !== false) return F;`);
        this.emit(`const ${t} = !${inner};`);
        return t;
      }
      case '?:': {
        const cond = this.node(node.args[0]);
        const t = this.temp();
        this.emit(`let ${t};`);
        this.emit(`if (${cond} === true) {`);
        this.emit(`${t} = ${this.node(node.args[1])};`);
        this.emit(`} else if (${cond} === false) {`);
        this.emit(`${t} = ${this.node(node.args[2])};`);
        this.emit('} else return F;');
        return t;
      }
      case '==':
      case '!=': {
        const l = this.node(node.args[0]);
        const r = this.node(node.args[1]);
        const eq = this.temp();
        this.emit(`const ${eq} = eq(${l}, ${r});`);
        this.emit(`if (${eq} === F) return F;`);
        if (node.op === '==') return eq;
        const t = this.temp();
        this.emit(`const ${t} = !${eq};`);
        return t;
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        // Only numbers: int and double compare by value in CEL, which is what JS does for
        // exactly representable ints. Strings (code point order) and the rest go to cel-js.
        const l = this.node(node.args[0]);
        const r = this.node(node.args[1]);
        const t = this.temp();
        this.emit(`if (typeof ${l} !== "number" || ${l} !== ${l} || typeof ${r} !== "number" || ${r} !== ${r}) return F;`);
        this.emit(`const ${t} = ${l} ${node.op} ${r};`);
        return t;
      }
      case 'in': {
        const [needleNode, listNode] = node.args;
        if (listNode.op !== 'list' || listNode.args.length === 0) throw new Unsupported();
        const items = listNode.args.map((n) => {
          const l = literalOf(n);
          if (l === undefined || l.value === null) throw new Unsupported();
          return l.value;
        });
        const kind = typeof items[0];
        if (items.some((v) => typeof v !== kind)) throw new Unsupported();
        const needle = this.node(needleNode);
        const c = this.constants.push(new Set<Literal>(items)) - 1;
        const t = this.temp();
        this.emit(`if (typeof ${needle} !== "${kind}" || ${needle} !== ${needle}) return F;`);
        this.emit(`const ${t} = C[${c}].has(${needle});`);
        return t;
      }
      default:
        throw new Unsupported();
    }
  }

  private select(obj: string, key: string): string {
    const t = this.temp();
    const k = JSON.stringify(key);
    this.emit(`if (!isObj(${obj}) || !hasOwn(${obj}, ${k})) return F;`);
    this.emit(`const ${t} = ${obj}[${k}];`);
    this.emit(`if (${t} === undefined) return F;`);
    return t;
  }
}

/** A literal as the fast path represents it: CEL ints become JS numbers when exactly representable. */
function literalOf(node: ASTNode): { value: Literal } | undefined {
  if (node.op === 'value') {
    const v = node.args;
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) return { value: v };
    if (typeof v === 'number') return Number.isFinite(v) ? { value: v } : undefined;
    if (typeof v === 'bigint') {
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? { value: Number(v) } : undefined;
    }
    return undefined;
  }
  if (node.op === '-_') {
    const inner = literalOf(node.args);
    if (inner && typeof inner.value === 'number') return { value: -inner.value };
  }
  return undefined;
}

function jsLiteral(value: Literal): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  return JSON.stringify(value);
}
