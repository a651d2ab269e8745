/**
 * `GET /v1/actions/:id/lineage`: the delegation tree an action belongs to, as a caller sees it.
 * Pure: the rows come from ActionRepository#lineage.
 */
import type { LineageRow } from '../ledger/action-repository';

/** One action in a lineage answer. */
export interface LineageNode {
  id: string;
  action: string;
  status: string;
  agent: string;
  onBehalfOf: string | null;
  createdAt: string;
  children: LineageNode[];
}

/**
 * The tree of `rows` (oldest first) from `rootId`, keeping only the actions `visible` accepts:
 * an action hidden from the caller is left out and its visible descendants hang from its
 * nearest visible ancestor. The answer's root is the highest visible action above `actionId`,
 * which is always shown (the caller was allowed to ask for it).
 */
export function lineageTree(rows: readonly LineageRow[], rootId: string, actionId: string, mayRead: (row: LineageRow) => boolean): { root: LineageNode; actionId: string } {
  const visible = (row: LineageRow) => row.id === actionId || mayRead(row);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const nearestVisibleAncestor = (id: string): string | null => {
    let row = byId.get(id);
    while (row && row.id !== rootId) {
      row = row.parent_action_id === null ? undefined : byId.get(row.parent_action_id);
      if (row && visible(row)) return row.id;
    }
    return null;
  };
  const nodes = new Map<string, LineageNode>();
  for (const r of rows) {
    if (!visible(r)) continue;
    nodes.set(r.id, { id: r.id, action: r.action, status: r.status, agent: r.agent, onBehalfOf: r.on_behalf_of, createdAt: r.created_at.toISOString(), children: [] });
  }
  for (const r of rows) {
    const node = nodes.get(r.id);
    const parent = node && nearestVisibleAncestor(r.id);
    if (node && parent) nodes.get(parent)?.children.push(node);
  }
  let top = byId.has(actionId) ? actionId : rootId;
  for (let up = nearestVisibleAncestor(top); up; up = nearestVisibleAncestor(up)) top = up;
  return { root: nodes.get(top) as LineageNode, actionId };
}
