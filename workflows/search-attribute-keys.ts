import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed keys of Countersign's search attributes (declared in domain/search-attributes.ts). */
export const searchAttributeKeys = {
  status: defineSearchAttributeKey('CountersignStatus', SearchAttributeType.KEYWORD),
  action: defineSearchAttributeKey('CountersignAction', SearchAttributeType.KEYWORD),
  agent: defineSearchAttributeKey('CountersignAgent', SearchAttributeType.KEYWORD),
  waitingGroups: defineSearchAttributeKey('CountersignWaitingGroups', SearchAttributeType.KEYWORD_LIST),
  deadline: defineSearchAttributeKey('CountersignDeadline', SearchAttributeType.DATETIME),
};
