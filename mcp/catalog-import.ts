/**
 * `countersign mcp import`: catalog entries for every tool of the gateway's upstreams, for an
 * operator to review and add to the policy bundle. Each entry's params schema is the tool's
 * input schema (made loadable: its `$schema` is dropped, since bundles use draft-07), its
 * executor is `agent` (the gateway carries the call out and reports), and its category is a
 * guess from the tool's annotations that the operator should check.
 */
import { stringify } from 'yaml';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { validatePolicyBundle } from '../policy';
import type { GatewayTool } from './tools';

/** Choices the operator makes for every entry (review each one after import). */
export interface ImportOptions {
  /** Owner group of every entry. @default `mcp-<upstream>` */
  owner?: string;
  /** The executor's result deadline. @default 1h */
  resultTimeout?: string;
}

/** One catalog entry as the bundle takes it. */
export interface CatalogEntry {
  description?: string;
  owner: string;
  category: 'data_access' | 'production_change';
  params: Record<string, unknown>;
  executor: { type: 'agent'; resultTimeout: string };
}

/** Catalog entries by action name, and the entries that would not load as they are (with why). */
export function catalogEntries(tools: Iterable<GatewayTool>, options: ImportOptions = {}): { actions: Record<string, CatalogEntry>; problems: string[] } {
  const actions: Record<string, CatalogEntry> = {};
  const problems: string[] = [];
  for (const t of tools) {
    const entry: CatalogEntry = {
      ...(t.tool.description ? { description: firstLine(t.tool.description) } : {}),
      owner: options.owner ?? `mcp-${t.upstream.name.replace(/_/g, '-')}`,
      category: categoryOf(t.tool),
      params: paramsSchema(t.tool),
      executor: { type: 'agent', resultTimeout: options.resultTimeout ?? '1h' },
    };
    // Each entry must load on its own: a schema ajv refuses is reported, not printed.
    const check = validatePolicyBundle(stringify({ actions: { [t.action]: entry } }));
    if (!check.ok) {
      problems.push(`${t.action} (tool ${t.tool.name} of ${t.upstream.name}): ${check.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
      continue;
    }
    actions[t.action] = entry;
  }
  return { actions, problems };
}

/** The YAML the command prints: a commented `actions:` block ready to merge into a bundle. */
export function catalogYaml(actions: Record<string, CatalogEntry>, configFile: string): string {
  const header = [
    `# Catalog entries for the tools behind the MCP gateway (${configFile}).`,
    '# Review each one before adding it to the policy bundle: the owner group (who approves by',
    '# default), the category (guessed from the tool\'s annotations), the params schema (the tool\'s',
    '# input schema) and the result deadline. Then write rules for them (allow, require_approval).',
  ].join('\n');
  return `${header}\n${stringify({ actions }, { lineWidth: 0 })}`;
}

/** A read-only tool reads data; anything else changes something. */
function categoryOf(tool: Tool): CatalogEntry['category'] {
  return tool.annotations?.readOnlyHint === true ? 'data_access' : 'production_change';
}

/** The tool's input schema as a draft-07 params schema. */
function paramsSchema(tool: Tool): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = tool.inputSchema as Record<string, unknown>;
  return { ...schema, type: 'object' };
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0];
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
