import fs from 'node:fs';
import path from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../domain/rate-limits';
import { parseDuration } from '../policy/duration';
import { parsePayloadKeys, PayloadKeyError, type PayloadKey } from './payload-keys';

/**
 * The one place that reads configuration from the environment.
 * Everything else receives a typed {@link Config}.
 */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  COUNTERSIGN_HOST: z.string().min(1).default('0.0.0.0'),
  COUNTERSIGN_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  POLICY_FILE: z.string().min(1).optional(),
  COUNTERSIGN_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  COUNTERSIGN_DATA_DIR: z.string().min(1).default('.data'),
  COUNTERSIGN_TASK_QUEUE: z.string().min(1).default('countersign'),
  COUNTERSIGN_EXECUTOR_SECRET: z.string().min(16).optional(),
  // Below the executor activity's 30 s start-to-close timeout, so a stalled target is an
  // executor error (retried) rather than an activity timeout.
  COUNTERSIGN_EXECUTOR_TIMEOUT_MS: z.coerce.number().int().min(100).max(29_000).default(25_000),
  // Bytes read of an executor's or webhook's answer; the rest is never read (activities/outbound-fetch.ts).
  COUNTERSIGN_FETCH_MAX_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  COUNTERSIGN_EXECUTOR_INLINE: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
  COUNTERSIGN_PUBLIC_URL: z.string().url().optional(),
  // Console sign-in (docs/sign-in.md): session length as a bundle duration, and the OpenID provider.
  COUNTERSIGN_SESSION_TTL: z.string().regex(/^(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/, 'a duration like 12h or 30m').min(2).default('12h'),
  COUNTERSIGN_OIDC_ISSUER: z.string().url().optional(),
  COUNTERSIGN_OIDC_CLIENT_ID: z.string().min(1).optional(),
  COUNTERSIGN_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  COUNTERSIGN_OIDC_GROUPS_CLAIM: z.string().min(1).optional(),
  // Slack approvals (docs/slack.md).
  COUNTERSIGN_SLACK_BOT_TOKEN: z.string().min(1).optional(),
  COUNTERSIGN_SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  COUNTERSIGN_SLACK_API_URL: z.string().url().default('https://slack.com/api'),
  COUNTERSIGN_MAX_BODY_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  // Per principal and API process, per second (burst twice that); 0 turns a limit off (api/rate-limit.ts).
  COUNTERSIGN_RATE_PROPOSALS: z.coerce.number().min(0).default(DEFAULT_RATE_LIMITS.proposalsPerSecond),
  COUNTERSIGN_RATE_DECISIONS: z.coerce.number().min(0).default(DEFAULT_RATE_LIMITS.decisionsPerSecond),
  COUNTERSIGN_RATE_LONG_POLLS: z.coerce.number().min(0).default(DEFAULT_RATE_LIMITS.longPollsPerSecond),
  COUNTERSIGN_RATE_AUTH_FAILURES: z.coerce.number().min(0).default(DEFAULT_RATE_LIMITS.authFailuresPerSecond),
  COUNTERSIGN_MAX_WAITS_PER_PRINCIPAL: z.coerce.number().int().min(0).default(DEFAULT_RATE_LIMITS.concurrentWaitsPerPrincipal),
  COUNTERSIGN_MAX_WAITS: z.coerce.number().int().min(0).default(DEFAULT_RATE_LIMITS.concurrentWaits),
  // Which proxies' X-Forwarded-For to believe for the client address (express "trust proxy").
  COUNTERSIGN_TRUST_PROXY: z.string().min(1).optional(),
  COUNTERSIGN_SIGNING_KEY_FILE: z.string().min(1).optional(),
  COUNTERSIGN_SIGNING_KEY: z.string().min(1).optional(),
  COUNTERSIGN_DIGEST_KEY: z
    .string()
    .regex(/^\s*(?:[0-9a-fA-F]{2}){32,}\s*$/, 'must be at least 64 hex digits (32 bytes)')
    .optional(),
  COUNTERSIGN_CHECKPOINT_INTERVAL: z.coerce.number().int().min(1).default(60),
  // OpenTelemetry's standard variables (runtime/tracing.ts): tracing is on when an endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('countersign'),
  COUNTERSIGN_LEDGER_WITNESS_URL: z.string().url().optional(),
  COUNTERSIGN_LEDGER_WITNESS_TOKEN: z.string().min(1).optional(),
  COUNTERSIGN_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(1).default(700),
  COUNTERSIGN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  // Reviewer metrics: a decision faster than this after its approval request counts as fast (docs/reviewer-metrics.md).
  COUNTERSIGN_FAST_DECISION_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
  COUNTERSIGN_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_CLI: z.string().min(1).optional(),
  TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  TEMPORAL_UI_URL: z.string().url().optional(),
  // Connection to an external Temporal (TEMPORAL_ADDRESS); checked together in temporalConnection().
  TEMPORAL_TLS: z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  COUNTERSIGN_PAYLOAD_KEYS: z.string().min(1).optional(),
  COUNTERSIGN_MESSAGE_ROOT_KEYS: z.string().min(1).optional(),
  COUNTERSIGN_TEMPORAL_UI_ORIGIN: z.string().min(1).optional(),
  DATABASE_URL: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Validated runtime configuration. */
export interface Config {
  port: number;
  /** The address the API (and the metrics listener) binds to (`COUNTERSIGN_HOST`). @default "0.0.0.0" (all interfaces) */
  host: string;
  /** `COUNTERSIGN_METRICS_PORT`: /metrics is served there only (on {@link host}); unset, on {@link port}. */
  metricsPort?: number;
  /** Policy bundle to activate at start when the database has none (or a different one). */
  policyFile: string;
  /** True when POLICY_FILE was set: that bundle is activated at start even if another is active. */
  policyFileExplicit: boolean;
  adminToken?: string;
  dataDir: string;
  taskQueue: string;
  executorSecret?: string;
  /** How long one executor HTTP call may take before it counts as failed (and is retried). @default 25000 */
  executorTimeoutMs: number;
  /** Whether a worker may call a target it has seen answer fast inline (a local activity). @default true */
  executorInline: boolean;
  /** How many bytes of an executor's or webhook's answer are read (`COUNTERSIGN_FETCH_MAX_BYTES`). @default 1048576 */
  fetchMaxBytes: number;
  publicUrl: string;
  /** How long a console session lasts (`COUNTERSIGN_SESSION_TTL`). @default 12 h */
  sessionTtlMs: number;
  /** The OpenID provider of console sign-in (`COUNTERSIGN_OIDC_*`); undefined: sign-in links only. */
  oidc?: { issuer: string; clientId: string; clientSecret: string; groupsClaim?: string };
  /** Slack approvals (`COUNTERSIGN_SLACK_*`); undefined: no Slack messages, interactions refused. */
  slack?: { botToken?: string; signingSecret?: string; apiUrl: string };
  maxBodyBytes: number;
  /** Per-principal rate limits and long-poll caps of each API process (`COUNTERSIGN_RATE_*`, `COUNTERSIGN_MAX_WAITS*`). */
  rateLimits: RateLimits;
  /**
   * `COUNTERSIGN_TRUST_PROXY`: express's "trust proxy" (`true`, a hop count, or addresses/subnets such
   * as `loopback, 10.0.0.0/8`), so the client address (failed-authentication limit, logs) is the
   * caller's, not the load balancer's. Undefined: the socket's address.
   */
  trustProxy?: boolean | number | string;
  pgPort: number;
  /** Ed25519 private key (PEM) for the ledger, as a file or the value; else kept in the data dir. */
  signingKeyFile?: string;
  signingKeyPem?: string;
  /** `COUNTERSIGN_DIGEST_KEY`: the keyed-digest key, hex (ledger/digest-key.ts); else the data dir's. */
  digestKey?: string;
  /**
   * Root keys that certify the API's message keys (`COUNTERSIGN_MESSAGE_ROOT_KEYS`: base64url
   * 32-byte seeds, comma-separated, the first current); else the data dir's.
   */
  messageRootKeys?: string[];
  /** Seconds between signed ledger checkpoints. @default 60 */
  checkpointIntervalSeconds: number;
  /** `COUNTERSIGN_LEDGER_WITNESS_URL`: an HTTP witness of the signed checkpoints (ledger/witness.ts). */
  ledgerWitnessUrl?: string;
  /** Where spans go (OTLP/HTTP), from `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`; undefined: tracing off. */
  otlpTracesUrl?: string;
  /** `OTEL_SERVICE_NAME`. @default "countersign" */
  otelServiceName: string;
  ledgerWitnessToken?: string;
  /** Workflows a worker keeps in memory (the rest replay from history when they wake). @default 700 */
  maxCachedWorkflows: number;
  /** On SIGTERM, how long /readyz says 503 before the listener closes. @default 0 */
  drainDelayMs: number;
  /** `COUNTERSIGN_FAST_DECISION_MS`: decisions faster than this count as fast (reviewer metrics). @default 5000 */
  fastDecisionMs: number;
  temporalAddress?: string;
  temporalNamespace: string;
  temporalCli?: string;
  temporalPort: number;
  temporalUiPort: number;
  temporalUiUrl: string;
  /**
   * TLS (and mTLS) to an external Temporal, from `TEMPORAL_TLS`, `TEMPORAL_TLS_CERT`/`_KEY`,
   * `TEMPORAL_TLS_CA`, `TEMPORAL_TLS_SERVER_NAME` (files read at start); on with an API key.
   * Undefined: plain gRPC.
   */
  temporalTls?: TLSConfig;
  /** `TEMPORAL_API_KEY` (Temporal Cloud), sent with every call; implies TLS. */
  temporalApiKey?: string;
  /**
   * `COUNTERSIGN_PAYLOAD_KEYS`: the keys that encrypt payloads in Temporal, the first encrypting.
   * Undefined: the data dir's (`keys/payload-keys/`, created on first start).
   */
  payloadKeys?: PayloadKey[];
  /**
   * The one browser origin allowed to call the codec endpoint with credentials (CORS).
   * @default the origin of {@link temporalUiUrl}
   */
  temporalUiOrigin: string;
  databaseUrl?: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
}

/** The OTLP/HTTP traces URL the environment names, or undefined when tracing is off. */
export function otlpTracesUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/** Raised when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The external Postgres and Temporal a standalone API or worker process connects to; it cannot
 * guess them (`npm start` embeds both instead).
 */
export function externalInfrastructure(config: Config, processName: 'API' | 'worker'): { databaseUrl: string; temporalAddress: string } {
  const { databaseUrl, temporalAddress } = config;
  if (!databaseUrl || !temporalAddress) {
    throw new ConfigError(`DATABASE_URL and TEMPORAL_ADDRESS must be set for the standalone ${processName} (npm start runs an embedded stack instead)`);
  }
  return { databaseUrl, temporalAddress };
}

/** Text that may be unset; an empty value counts as unset. */
const optionalText = z
  .string()
  .optional()
  .transform((v) => v || undefined);

/**
 * What the CLI's commands read besides {@link Config}: few enough that none can fail on an
 * unrelated setting (a `ledger verify` is not refused over a bad PORT).
 */
const cliEnvSchema = z.object({
  COUNTERSIGN_ADMIN_TOKEN: optionalText,
  COUNTERSIGN_SIGNING_KEY: optionalText,
  COUNTERSIGN_SIGNING_KEY_FILE: optionalText,
  COUNTERSIGN_DIGEST_KEY: optionalText,
  COUNTERSIGN_CHECKPOINT_INTERVAL: z.coerce.number().int().min(1).default(60),
  COUNTERSIGN_LEDGER_WITNESS_URL: optionalText,
  COUNTERSIGN_LEDGER_WITNESS_TOKEN: optionalText,
  USER: optionalText,
});

/** The CLI's own settings. */
export interface CliConfig {
  /** `COUNTERSIGN_ADMIN_TOKEN`: what `demo` manages principals with unless `--admin-token` is given. */
  adminToken?: string;
  /** The production signing key (`COUNTERSIGN_SIGNING_KEY` or `COUNTERSIGN_SIGNING_KEY_FILE`); else the data dir's. */
  signingKey: { keyPem?: string; keyFile?: string };
  /** `COUNTERSIGN_DIGEST_KEY` (hex), what `ledger digest-key export` exports; else the data dir's. */
  digestKey?: string;
  /** Who runs the command (`USER`), recorded by `ledger ack-fault`. @default "operator" */
  operator: string;
  /** `COUNTERSIGN_CHECKPOINT_INTERVAL` (seconds): `ledger verify` wants events older than two intervals covered. @default 60 */
  checkpointIntervalSeconds: number;
  /** `COUNTERSIGN_LEDGER_WITNESS_URL` / `_TOKEN`: the HTTP witness `ledger verify` and `ledger checkpoint` use. */
  ledgerWitnessUrl?: string;
  ledgerWitnessToken?: string;
}

/** Parse the CLI's settings from an environment (default: `process.env`). */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const e = cliEnvSchema.parse(env);
  return {
    adminToken: e.COUNTERSIGN_ADMIN_TOKEN,
    signingKey: { keyPem: e.COUNTERSIGN_SIGNING_KEY, keyFile: e.COUNTERSIGN_SIGNING_KEY_FILE },
    digestKey: e.COUNTERSIGN_DIGEST_KEY,
    operator: e.USER ?? 'operator',
    checkpointIntervalSeconds: e.COUNTERSIGN_CHECKPOINT_INTERVAL,
    ledgerWitnessUrl: e.COUNTERSIGN_LEDGER_WITNESS_URL,
    ledgerWitnessToken: e.COUNTERSIGN_LEDGER_WITNESS_TOKEN,
  };
}

/** Parse configuration from an environment (default: `process.env`). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const problems: string[] = [];
  const temporal = temporalConnection(e, problems);
  let payloadKeys: PayloadKey[] | undefined;
  if (e.COUNTERSIGN_PAYLOAD_KEYS !== undefined) {
    try {
      payloadKeys = parsePayloadKeys(e.COUNTERSIGN_PAYLOAD_KEYS);
    } catch (err) {
      if (!(err instanceof PayloadKeyError)) throw err;
      problems.push(`COUNTERSIGN_PAYLOAD_KEYS: ${err.message}`);
    }
  }
  const temporalUiUrl = e.TEMPORAL_UI_URL ?? `http://localhost:${e.TEMPORAL_UI_PORT}`;
  const uiOrigin = browserOrigin(e.COUNTERSIGN_TEMPORAL_UI_ORIGIN ?? new URL(temporalUiUrl).origin);
  if (e.COUNTERSIGN_METRICS_PORT !== undefined && e.COUNTERSIGN_METRICS_PORT === e.PORT) {
    problems.push(`COUNTERSIGN_METRICS_PORT: is PORT (${e.PORT}); give the metrics a port of their own, or unset it to serve them on PORT`);
  }
  const sessionTtlMs = parseDuration(e.COUNTERSIGN_SESSION_TTL);
  if (sessionTtlMs === undefined || sessionTtlMs < 60_000) problems.push(`COUNTERSIGN_SESSION_TTL: ${e.COUNTERSIGN_SESSION_TTL} must be a duration of at least 1m, like 12h`);
  const oidcVars = (['COUNTERSIGN_OIDC_ISSUER', 'COUNTERSIGN_OIDC_CLIENT_ID', 'COUNTERSIGN_OIDC_CLIENT_SECRET'] as const).filter((k) => e[k] !== undefined);
  if (oidcVars.length > 0 && oidcVars.length < 3) {
    problems.push(`COUNTERSIGN_OIDC_ISSUER, COUNTERSIGN_OIDC_CLIENT_ID and COUNTERSIGN_OIDC_CLIENT_SECRET go together: only ${oidcVars.join(', ')} ${oidcVars.length > 1 ? 'are' : 'is'} set`);
  }
  if ('problem' in uiOrigin) problems.push(`${e.COUNTERSIGN_TEMPORAL_UI_ORIGIN ? 'COUNTERSIGN_TEMPORAL_UI_ORIGIN' : 'TEMPORAL_UI_URL'}: ${uiOrigin.problem}`);
  if (problems.length) throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const repoRoot = path.resolve(__dirname, '..');
  return {
    port: e.PORT,
    host: e.COUNTERSIGN_HOST,
    metricsPort: e.COUNTERSIGN_METRICS_PORT,
    policyFile: path.resolve(e.POLICY_FILE ?? path.join(repoRoot, 'policies', 'default.yaml')),
    policyFileExplicit: e.POLICY_FILE !== undefined,
    adminToken: e.COUNTERSIGN_ADMIN_TOKEN,
    dataDir: path.resolve(e.COUNTERSIGN_DATA_DIR),
    taskQueue: e.COUNTERSIGN_TASK_QUEUE,
    executorSecret: e.COUNTERSIGN_EXECUTOR_SECRET,
    executorTimeoutMs: e.COUNTERSIGN_EXECUTOR_TIMEOUT_MS,
    executorInline: e.COUNTERSIGN_EXECUTOR_INLINE === 'true',
    fetchMaxBytes: e.COUNTERSIGN_FETCH_MAX_BYTES,
    publicUrl: (e.COUNTERSIGN_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    sessionTtlMs: sessionTtlMs ?? 12 * 3_600_000,
    ...(oidcVars.length === 3
      ? { oidc: { issuer: e.COUNTERSIGN_OIDC_ISSUER!, clientId: e.COUNTERSIGN_OIDC_CLIENT_ID!, clientSecret: e.COUNTERSIGN_OIDC_CLIENT_SECRET!, groupsClaim: e.COUNTERSIGN_OIDC_GROUPS_CLAIM } }
      : {}),
    ...(e.COUNTERSIGN_SLACK_BOT_TOKEN || e.COUNTERSIGN_SLACK_SIGNING_SECRET
      ? { slack: { botToken: e.COUNTERSIGN_SLACK_BOT_TOKEN, signingSecret: e.COUNTERSIGN_SLACK_SIGNING_SECRET, apiUrl: e.COUNTERSIGN_SLACK_API_URL.replace(/\/+$/, '') } }
      : {}),
    maxBodyBytes: e.COUNTERSIGN_MAX_BODY_BYTES,
    trustProxy: e.COUNTERSIGN_TRUST_PROXY === undefined ? undefined : e.COUNTERSIGN_TRUST_PROXY === 'true' ? true : e.COUNTERSIGN_TRUST_PROXY === 'false' ? false : /^\d+$/.test(e.COUNTERSIGN_TRUST_PROXY) ? Number(e.COUNTERSIGN_TRUST_PROXY) : e.COUNTERSIGN_TRUST_PROXY,
    rateLimits: {
      proposalsPerSecond: e.COUNTERSIGN_RATE_PROPOSALS,
      decisionsPerSecond: e.COUNTERSIGN_RATE_DECISIONS,
      longPollsPerSecond: e.COUNTERSIGN_RATE_LONG_POLLS,
      authFailuresPerSecond: e.COUNTERSIGN_RATE_AUTH_FAILURES,
      concurrentWaitsPerPrincipal: e.COUNTERSIGN_MAX_WAITS_PER_PRINCIPAL,
      concurrentWaits: e.COUNTERSIGN_MAX_WAITS,
    },
    pgPort: e.COUNTERSIGN_PG_PORT,
    signingKeyFile: e.COUNTERSIGN_SIGNING_KEY_FILE,
    signingKeyPem: e.COUNTERSIGN_SIGNING_KEY,
    digestKey: e.COUNTERSIGN_DIGEST_KEY?.trim(),
    messageRootKeys: e.COUNTERSIGN_MESSAGE_ROOT_KEYS?.split(',').map((k) => k.trim()).filter(Boolean),
    checkpointIntervalSeconds: e.COUNTERSIGN_CHECKPOINT_INTERVAL,
    ledgerWitnessUrl: e.COUNTERSIGN_LEDGER_WITNESS_URL,
    ledgerWitnessToken: e.COUNTERSIGN_LEDGER_WITNESS_TOKEN,
    otlpTracesUrl: otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: e.OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT }),
    otelServiceName: e.OTEL_SERVICE_NAME,
    drainDelayMs: e.COUNTERSIGN_DRAIN_DELAY_MS,
    fastDecisionMs: e.COUNTERSIGN_FAST_DECISION_MS,
    maxCachedWorkflows: e.COUNTERSIGN_MAX_CACHED_WORKFLOWS,
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    temporalCli: e.TEMPORAL_CLI,
    temporalPort: e.TEMPORAL_PORT,
    temporalUiPort: e.TEMPORAL_UI_PORT,
    temporalUiUrl,
    temporalTls: temporal.tls,
    temporalApiKey: temporal.apiKey,
    payloadKeys,
    temporalUiOrigin: (uiOrigin as { origin: string }).origin,
    databaseUrl: e.DATABASE_URL,
    logLevel: e.LOG_LEVEL,
  };
}

type Env = z.infer<typeof envSchema>;

/**
 * TLS and the API key for an external Temporal, as the SDK's connections take them. Every
 * inconsistency is pushed to `problems` (one line each, naming the variable): a certificate without
 * its key, TLS turned off while a TLS option or an API key asks for it, options without
 * `TEMPORAL_ADDRESS` (npm start's dev server speaks plain gRPC), a file that cannot be read or is
 * not PEM. Files are read here, so a wrong path stops the process at start, not at first use.
 */
function temporalConnection(e: Env, problems: string[]): { tls?: TLSConfig; apiKey?: string } {
  const tlsOptions = (['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME'] as const).filter((k) => e[k] !== undefined);
  const asked = [...tlsOptions, ...(e.TEMPORAL_API_KEY !== undefined ? ['TEMPORAL_API_KEY'] : []), ...(e.TEMPORAL_TLS === 'true' ? ['TEMPORAL_TLS'] : [])];
  if (asked.length === 0) return {};
  const before = problems.length;
  if (!e.TEMPORAL_ADDRESS) {
    problems.push(`TEMPORAL_ADDRESS: must be set with ${asked.join(', ')} (they configure the connection to an external Temporal; npm start's dev server speaks plain gRPC)`);
  }
  if (e.TEMPORAL_TLS === 'false') {
    const needTls = asked.filter((k) => k !== 'TEMPORAL_TLS');
    problems.push(`TEMPORAL_TLS: is false, but ${needTls.join(', ')} ${needTls.length > 1 ? 'need' : 'needs'} TLS (unset TEMPORAL_TLS or set it to true)`);
  }
  if (e.TEMPORAL_TLS_CERT && !e.TEMPORAL_TLS_KEY) problems.push('TEMPORAL_TLS_KEY: must be set with TEMPORAL_TLS_CERT (the client certificate for mTLS needs its private key)');
  if (e.TEMPORAL_TLS_KEY && !e.TEMPORAL_TLS_CERT) problems.push('TEMPORAL_TLS_CERT: must be set with TEMPORAL_TLS_KEY (the private key for mTLS needs its client certificate)');
  const pem = (name: 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA'): Buffer | undefined => {
    const file = e[name];
    if (file === undefined) return undefined;
    let content: Buffer;
    try {
      content = fs.readFileSync(file);
    } catch (err) {
      problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
    if (!content.includes('-----BEGIN ')) problems.push(`${name}: ${file} is not a PEM file (no "-----BEGIN" line)`);
    return content;
  };
  const crt = pem('TEMPORAL_TLS_CERT');
  const key = pem('TEMPORAL_TLS_KEY');
  const ca = pem('TEMPORAL_TLS_CA');
  if (problems.length > before) return {};
  const tls: TLSConfig = {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: e.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  return { tls, apiKey: e.TEMPORAL_API_KEY };
}

/**
 * A browser origin (`scheme://host[:port]`, http or https) as browsers send it in `Origin`
 * (lower-case host, no default port, no trailing slash), or why `text` is not one.
 */
function browserOrigin(text: string): { origin: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `${text} is not a URL; give the origin the Temporal UI is opened at, e.g. https://temporal.example.com` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `${text} must be an http or https origin` };
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    return { problem: `${text} must be an origin (scheme://host[:port]) without a path, query or user` };
  }
  return { origin: url.origin };
}
