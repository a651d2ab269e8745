import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES, type SearchAttributeTypeName } from '../domain/search-attributes';

/** The SDK's spelling of each type the registry uses. */
const SDK_TYPES = {
  Keyword: SearchAttributeType.KEYWORD,
  KeywordList: SearchAttributeType.KEYWORD_LIST,
  Datetime: SearchAttributeType.DATETIME,
  Bool: SearchAttributeType.BOOL,
} as const satisfies Record<SearchAttributeTypeName, SearchAttributeType>;

type Registry = typeof SEARCH_ATTRIBUTES;
/** The SDK's key type (not exported by name from @temporalio/common). */
type SearchAttributeKey<T extends SearchAttributeType> = ReturnType<typeof defineSearchAttributeKey<T>>;

/** Typed keys of Countersign's search attributes, derived from domain/search-attributes.ts. */
export const searchAttributeKeys = Object.fromEntries(
  Object.entries(SEARCH_ATTRIBUTES).map(([key, a]) => [key, defineSearchAttributeKey(a.name, SDK_TYPES[a.type])]),
) as { readonly [K in keyof Registry]: SearchAttributeKey<(typeof SDK_TYPES)[Registry[K]['type']]> };
