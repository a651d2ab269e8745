/**
 * docker-compose.yml cannot run here (no Docker engine), so its shape is checked statically:
 * every service, port and variable the README promises is there, and every service a
 * `docker compose …` command in the README names exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../domain/search-attributes';

const ROOT = path.resolve(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | null> | string[];
  ports?: (string | number | { target: number; published?: number | string })[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
}

// Merge keys (`<<: *anchor`) are YAML 1.1; docker compose honours them, so parse the same way.
const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

const COUNTERSIGN_SERVICES = ['countersign-api', 'countersign-worker'];
const COUNTERSIGN_ENV = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'COUNTERSIGN_ADMIN_TOKEN',
  'COUNTERSIGN_EXECUTOR_SECRET',
  'POLICY_FILE',
  'PORT',
  'COUNTERSIGN_DATA_DIR',
];

function envOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((line) => [line.split('=')[0], line.slice(line.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** `host:container` pairs of a service's published ports (short or long syntax). */
function portsOf(service: ComposeService): { host: number; container: number }[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') return { host: Number(p.published ?? p.target), container: p.target };
    const parts = String(p).split('/')[0].split(':');
    const container = Number(parts[parts.length - 1]);
    const host = parts.length > 1 ? Number(parts[parts.length - 2]) : container;
    return { host, container };
  });
}

function dependenciesOf(service: ComposeService): string[] {
  const deps = service.depends_on ?? [];
  return Array.isArray(deps) ? deps : Object.keys(deps);
}

// Subcommands whose every positional argument is a service name.
const SERVICE_LIST_COMMANDS = new Set([
  'up', 'down', 'logs', 'restart', 'stop', 'start', 'ps', 'build', 'pull', 'push', 'rm', 'kill', 'pause', 'unpause', 'top', 'create', 'events', 'images', 'port', 'watch',
]);
// Subcommands whose first positional argument is a service and the rest a command for it.
const SERVICE_THEN_COMMAND = new Set(['exec', 'run', 'attach', 'cp']);
// Options that take a value, so the next word is not a service: before the subcommand
// (global) and after it (`-f` is a file before it, "follow" after it).
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['-f', '--file', '-p', '--project-name', '--profile', '--env-file', '--project-directory', '--ansi', '--progress', '--parallel']);
const OPTIONS_WITH_VALUE = new Set([
  '-t', '--timeout', '--tail', '-n', '--index', '-e', '--env', '-u', '--user', '-w', '--workdir', '--entrypoint', '--name',
  '-l', '--label', '-v', '--volume', '--since', '--until', '--pull', '--exit-code-from', '--attach', '--no-attach', '--wait-timeout', '--format',
]);

/**
 * The service names that `docker compose <subcommand> …` (or `docker-compose …`) commands in
 * a Markdown text name, including `--scale <service>=<n>`.
 */
function composeServicesMentioned(markdown: string): string[] {
  const text = markdown.replace(/\\\r?\n/g, ' ');
  const names = new Set<string>();
  for (const match of text.matchAll(/docker[ -]compose\b([^\n`]*)/g)) {
    const words = match[1].split(/(?:&&|\|\||[;|#<>])/)[0].trim().split(/\s+/).filter(Boolean);
    let subcommand: string | undefined;
    const positional: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i].replace(/^["']|["']$/g, '');
      if (w.startsWith('-')) {
        if (w === '--scale' && words[i + 1]) names.add(words[++i].split('=')[0]);
        else if (w.startsWith('--scale=')) names.add(w.slice('--scale='.length).split('=')[0]);
        else if ((subcommand ? OPTIONS_WITH_VALUE : GLOBAL_OPTIONS_WITH_VALUE).has(w) && !w.includes('=')) i++;
        continue;
      }
      if (!subcommand) subcommand = w;
      else positional.push(w);
    }
    if (!subcommand) continue;
    if (SERVICE_LIST_COMMANDS.has(subcommand)) positional.forEach((s) => names.add(s));
    else if (SERVICE_THEN_COMMAND.has(subcommand) && positional[0]) names.add(positional[0].split(':')[0]);
  }
  // Placeholders such as <service> or SERVICE are not names.
  return [...names].filter((n) => /^[a-z0-9][a-z0-9_.-]*$/.test(n));
}

describe('docker-compose.yml', () => {
  it('when parsed, then it has every service the README names', () => {
    for (const name of ['postgres', 'temporal', 'temporal-ui', ...COUNTERSIGN_SERVICES]) {
      expect(services, `service ${name}`).toHaveProperty(name);
    }
  });

  it('when parsed, then the API and the Temporal UI are published on 3000 and 8233', () => {
    expect(portsOf(services['countersign-api'])).toContainEqual({ host: 3000, container: 3000 });
    expect(portsOf(services['temporal-ui'])).toContainEqual({ host: 8233, container: 8080 });
  });

  it("when parsed, then Temporal's gRPC port stays on the compose network: exposed to the services, published by none", () => {
    expect(services.temporal.ports ?? []).toEqual([]);
    expect((services.temporal.expose ?? []).map(String)).toContain('7233');
    for (const [name, service] of Object.entries(services)) {
      for (const p of portsOf(service)) expect([p.host, p.container], `${name} publishes ${p.host}:${p.container}`).not.toContain(7233);
    }
  });

  it("when parsed, then the Temporal UI decodes through the API's codec endpoint with credentials, and the API allows the UI's origin", () => {
    const ui = envOf(services['temporal-ui']);
    expect(ui.TEMPORAL_CODEC_ENDPOINT).toMatch(/^\$\{COUNTERSIGN_PUBLIC_URL:-http:\/\/localhost:3000\}\/codec$/);
    expect(ui.TEMPORAL_CODEC_INCLUDE_CREDENTIALS).toBe('true');
    // The API's CORS origin defaults to TEMPORAL_UI_URL's origin: the UI as published on the host.
    const uiHostPort = portsOf(services['temporal-ui'])[0].host;
    for (const name of COUNTERSIGN_SERVICES) expect(new URL(envOf(services[name]).TEMPORAL_UI_URL).origin).toBe(`http://localhost:${uiHostPort}`);
  });

  it.each(COUNTERSIGN_SERVICES)('when parsed, then %s gets every variable of its configuration', (name) => {
    const env = envOf(services[name]);
    for (const key of COUNTERSIGN_ENV) expect(env, `${name}: ${key}`).toHaveProperty(key);
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env.DATABASE_URL).toMatch(/^postgres(ql)?:\/\/[^@]+@postgres:5432\//);
    expect(env.PORT).toBe('3000');
  });

  it.each(COUNTERSIGN_SERVICES)('when parsed, then %s depends on temporal and postgres', (name) => {
    expect(dependenciesOf(services[name])).toEqual(expect.arrayContaining(['temporal', 'postgres']));
  });

  it('when parsed, then the API and the worker run their own entrypoints from the repo image', () => {
    const api = services['countersign-api'];
    const worker = services['countersign-worker'];
    expect(api.build).toBeDefined();
    expect(worker.build).toBeDefined();
    expect([api.command].flat().join(' ')).toContain('api/main.ts');
    expect([worker.command].flat().join(' ')).toContain('workers/main.ts');
    for (const file of ['Dockerfile', 'api/main.ts', 'workers/main.ts']) expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
  });

  it('when parsed, then Temporal uses the compose Postgres and the setup registers every Countersign search attribute', () => {
    const temporal = envOf(services.temporal);
    expect(temporal.DB).toBe('postgres12');
    expect(temporal.POSTGRES_SEEDS).toBe('postgres');
    expect(dependenciesOf(services.temporal)).toContain('postgres');
    const setup = services['temporal-setup'];
    expect(setup, 'a temporal-setup service').toBeDefined();
    const script = [setup.command].flat().join('\n');
    expect(script).toContain('temporal operator search-attribute create');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_DECLARATIONS)) expect(script).toContain(`${name}=${type}`);
    for (const name of COUNTERSIGN_SERVICES) expect(dependenciesOf(services[name])).toContain('temporal-setup');
  });

  it('when the README has docker compose commands, then every service they name exists', () => {
    const readme = path.join(ROOT, 'README.md');
    if (!fs.existsSync(readme)) return;
    const unknown = composeServicesMentioned(fs.readFileSync(readme, 'utf8')).filter((name) => !(name in services));
    expect(unknown, 'services named in README.md but missing from docker-compose.yml').toEqual([]);
  });
});

describe('composeServicesMentioned', () => {
  it('when commands name services, then they are found and options and commands are skipped', () => {
    const md = [
      '```sh',
      'docker compose up -d --scale countersign-worker=3',
      'docker compose logs -f --tail 100 countersign-api temporal',
      'docker compose exec -e FOO=1 postgres psql -U countersign',
      'docker-compose restart temporal-ui && curl localhost:3000',
      'docker compose -f docker-compose.yml stop \\',
      '  countersign-worker',
      '```',
      'Run `docker compose ps` to see them; `docker compose logs <service>` follows one.',
    ].join('\n');
    expect(composeServicesMentioned(md).sort()).toEqual(['countersign-api', 'countersign-worker', 'postgres', 'temporal', 'temporal-ui']);
  });
});
