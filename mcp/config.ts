/**
 * The gateway's configuration file (YAML): where Countersign is, which upstream MCP servers to
 * front, and where the gateway keeps what must survive its own restart. `${NAME}` in any string
 * value is replaced by that environment variable, after parsing (so a value cannot add YAML
 * structure); an unset variable is an error, not an empty string.
 *
 * ```yaml
 * countersign: { url: "http://localhost:3000" }   # token from COUNTERSIGN_TOKEN
 * upstreams:
 *   files:   { command: npx, args: ["-y", "@modelcontextprotocol/server-filesystem", "/srv/share"] }
 *   billing: { url: "http://127.0.0.1:7000/mcp", headers: { authorization: "Bearer ${BILLING_TOKEN}" } }
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node } from 'yaml';
import { z } from 'zod';
import { DURATION_SYNTAX_HINT, parseDuration } from '../policy/duration';

/** Upstream names: they become part of action names (`mcp.<upstream>.<tool>`) and tool names. */
export const UPSTREAM_NAME_RE = /^[a-z][a-z0-9_]*$/;

/** A configuration the gateway cannot run with; `message` says where and why. */
export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

/** One upstream MCP server: a command the gateway starts (stdio), or a Streamable HTTP URL. */
export type UpstreamConfig = {
  name: string;
  /** Longest wait for the upstream to start and list its tools. */
  connectTimeoutMs: number;
  /** Longest wait for one tool call's answer; past it the outcome is unknown. */
  callTimeoutMs: number;
} & (
  | { kind: 'command'; command: string; args: string[]; env: Record<string, string>; cwd?: string }
  | { kind: 'url'; url: string; headers: Record<string, string> }
);

/** The gateway's configuration, validated, with defaults applied. */
export interface GatewayConfig {
  countersign: { url: string; token: string };
  upstreams: UpstreamConfig[];
  /** Directory for the calls waiting for approval and the execution claims (see call-journal.ts). */
  stateDir: string;
  /** How long a `tools/call` is held waiting for approval before it answers "still pending". */
  holdMs?: number;
}

const duration = z.string().refine((v) => parseDuration(v) !== undefined, { message: `invalid duration (${DURATION_SYNTAX_HINT})` });
const stringMap = z.record(z.string(), z.string());
const common = { connectTimeout: duration.optional(), timeout: duration.optional() };

const upstreamSchema = z.union([
  z.strictObject({ command: z.string().min(1), args: z.array(z.string()).optional(), env: stringMap.optional(), cwd: z.string().optional(), ...common }),
  z.strictObject({ url: z.url({ protocol: /^https?$/ }), headers: stringMap.optional(), ...common }),
]);

const configSchema = z.strictObject({
  countersign: z.strictObject({ url: z.url({ protocol: /^https?$/ }), token: z.string().min(1).optional() }),
  upstreams: z
    .record(z.string().regex(UPSTREAM_NAME_RE, { message: 'upstream names are lower-case letters, digits and "_", starting with a letter (they become part of action names)' }), upstreamSchema)
    .refine((u) => Object.keys(u).length > 0, { message: 'name at least one upstream' }),
  state: z.string().min(1).optional(),
  hold: duration.optional(),
});

/**
 * Read and validate a gateway configuration file.
 *
 * @param env where `${NAME}` references and `COUNTERSIGN_TOKEN` are looked up
 * @throws {@link GatewayConfigError} naming the file, the line and the key at fault
 */
export function loadGatewayConfig(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatewayConfigError(`${file}: cannot read the gateway config: ${(err as Error).message}`);
  }
  return parseGatewayConfig(text, file, env);
}

/** {@link loadGatewayConfig} on text already read (`file` names it in messages and anchors relative paths). */
export function parseGatewayConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = e.linePos?.[0];
    throw new GatewayConfigError(`${file}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const where = (p: PropertyKey[]): string => {
    const node = doc.getIn(p, true) as Node | undefined;
    const offset = node && (isScalar(node) || isMap(node) || isSeq(node)) ? node.range?.[0] : undefined;
    if (offset === undefined) return file;
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };

  const raw = substituteEnv(doc.toJS(), env, [], where);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const keyPath = issue.path.map(String);
    // An issue inside one member of the upstream union: say what an upstream may be.
    const message =
      issue.code === 'invalid_union' && keyPath[0] === 'upstreams'
        ? 'an upstream is either { command, args?, env?, cwd? } or { url, headers? } (plus timeout?, connectTimeout?), with no other keys'
        : issue.code === 'invalid_key'
          ? (issue.issues[0]?.message ?? issue.message)
          : issue.message;
    throw new GatewayConfigError(`${where(issue.path as PropertyKey[])}: ${keyPath.join('.') || '(top level)'}: ${message}`);
  }
  const c = parsed.data;
  const token = c.countersign.token ?? env.COUNTERSIGN_TOKEN;
  if (!token) {
    throw new GatewayConfigError(`${file}: no Countersign token: set COUNTERSIGN_TOKEN to an agent token of the gateway (or countersign.token: \${SOME_VARIABLE})`);
  }
  const dir = path.dirname(path.resolve(file));
  const upstreams = Object.entries(c.upstreams).map(([name, u]): UpstreamConfig => {
    const timeouts = {
      name,
      connectTimeoutMs: parseDuration(u.connectTimeout ?? '30s')!,
      callTimeoutMs: parseDuration(u.timeout ?? '5m')!,
    };
    return 'command' in u
      ? { ...timeouts, kind: 'command', command: u.command, args: u.args ?? [], env: u.env ?? {}, cwd: u.cwd ? path.resolve(dir, u.cwd) : undefined }
      : { ...timeouts, kind: 'url', url: u.url, headers: u.headers ?? {} };
  });
  return {
    countersign: { url: c.countersign.url.replace(/\/+$/, ''), token },
    upstreams,
    stateDir: path.resolve(dir, c.state ?? '.countersign-gateway'),
    ...(c.hold ? { holdMs: parseDuration(c.hold)! } : {}),
  };
}

/** Replace `${NAME}` in every string of a parsed document. */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, at: PropertyKey[], where: (p: PropertyKey[]) => string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new GatewayConfigError(`${where(at)}: ${at.map(String).join('.')}: "\${${name}}" is not a variable reference (write \${NAME} with letters, digits and "_")`);
      }
      const v = env[name];
      if (v === undefined) throw new GatewayConfigError(`${where(at)}: ${at.map(String).join('.')}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...at, i], where));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...at, k], where)]));
  }
  return value;
}
