/**
 * Countersign's custom Temporal search attributes: operators filter pending approvals in the
 * Temporal UI with them (e.g. `CountersignStatus = "awaiting_approval"`). The names and types
 * are registered on the server at start (`--search-attribute` on the dev server; `temporal
 * operator search-attribute create` on a cluster).
 */
export const SEARCH_ATTRIBUTE_DECLARATIONS = {
  CountersignStatus: 'Keyword',
  CountersignAction: 'Keyword',
  CountersignAgent: 'Keyword',
  CountersignWaitingGroups: 'KeywordList',
  CountersignDeadline: 'Datetime',
} as const;
