/**
 * Which tools the gateway exposes, under which names, and which Countersign action each call
 * becomes. With one upstream its tools keep their names; with several each is
 * `<upstream>_<tool>`. The action is always `mcp.<upstream>.<tool>`, with the tool's name
 * lower-cased and any character the API does not take in action names (anything but a-z, 0-9
 * and `_`) written as `_`.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Upstream } from './upstream';

/** One tool as the gateway's clients see it. */
export interface GatewayTool {
  /** The name clients call. */
  name: string;
  upstream: Upstream;
  /** The upstream's own tool (its name is what the gateway calls upstream). */
  tool: Tool;
  /** The governed action each call becomes. */
  action: string;
}

/** The action name a call of `tool` on `upstream` becomes. */
export function actionNameFor(upstream: string, tool: string): string {
  return `mcp.${upstream}.${tool.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
}

/**
 * The exposed tools of these (connected) upstreams.
 *
 * @throws Error when two tools would get the same exposed or action name
 */
export function gatewayTools(upstreams: Upstream[]): Map<string, GatewayTool> {
  const byName = new Map<string, GatewayTool>();
  const byAction = new Map<string, GatewayTool>();
  for (const upstream of upstreams) {
    for (const tool of upstream.tools) {
      const name = upstreams.length === 1 ? tool.name : `${upstream.name}_${tool.name}`;
      const entry: GatewayTool = { name, upstream, tool, action: actionNameFor(upstream.name, tool.name) };
      const clash = byName.get(name) ?? byAction.get(entry.action);
      if (clash) {
        throw new Error(
          `tools "${clash.tool.name}" of upstream ${clash.upstream.name} and "${tool.name}" of upstream ${upstream.name} would both be ${byName.has(name) ? `tool ${name}` : `action ${entry.action}`}; rename an upstream in the config`,
        );
      }
      byName.set(name, entry);
      byAction.set(entry.action, entry);
    }
  }
  return byName;
}

/** The tool as listed to clients: its own definition under the exposed name, usable as a task. */
export function listedTool(t: GatewayTool): Tool {
  return { ...t.tool, name: t.name, execution: { ...t.tool.execution, taskSupport: 'optional' } };
}
