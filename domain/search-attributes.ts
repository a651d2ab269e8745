/**
 * Countersign's custom Temporal search attributes: operators filter pending approvals in the
 * Temporal UI with them (e.g. `CountersignStatus = "awaiting_approval"`). The names and types
 * are registered on the server at start (`--search-attribute` on the dev server; `temporal
 * operator search-attribute create` on a cluster). Each is written here once: the workflow's
 * typed keys (workflows/search-attribute-keys.ts) and the server registrations derive from it.
 */
export const SEARCH_ATTRIBUTES = {
  status: { name: 'CountersignStatus', type: 'Keyword' },
  action: { name: 'CountersignAction', type: 'Keyword' },
  agent: { name: 'CountersignAgent', type: 'Keyword' },
  waitingGroups: { name: 'CountersignWaitingGroups', type: 'KeywordList' },
  deadline: { name: 'CountersignDeadline', type: 'Datetime' },
  /** True while a pause holds an approved action before it executes (docs/controls.md): `CountersignPaused = true`. */
  paused: { name: 'CountersignPaused', type: 'Bool' },
} as const;

type Registry = typeof SEARCH_ATTRIBUTES;

/** A search attribute's type as `temporal operator search-attribute create --type` spells it. */
export type SearchAttributeTypeName = Registry[keyof Registry]['type'];

/** Name -> type of every search attribute, as the server registers them. */
export const SEARCH_ATTRIBUTE_DECLARATIONS = Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((a) => [a.name, a.type])) as {
  readonly [K in keyof Registry as Registry[K]['name']]: Registry[K]['type'];
};
