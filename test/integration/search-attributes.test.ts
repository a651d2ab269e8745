import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { searchAttributeKeys } from '../../workflows/search-attribute-keys';

// The search attributes the test Temporal server has registered (by the global setup, through
// runtime/temporal-server.ts) are the ones the registry declares, with the types the
// workflow's keys upsert: a name or type written differently anywhere fails here.

describe('search attributes on the running Temporal server', () => {
  let connection: Connection;
  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('when the server lists its custom search attributes, then every registry entry is there with the type of its workflow key', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    const registered = Object.fromEntries(
      Object.values(SEARCH_ATTRIBUTES).map((a) => [a.name, customAttributes?.[a.name]]),
    );
    const expected = Object.fromEntries(
      Object.entries(SEARCH_ATTRIBUTES).map(([key, a]) => [a.name, encodeSearchAttributeIndexedValueType(searchAttributeKeys[key as keyof typeof SEARCH_ATTRIBUTES].type)]),
    );
    expect(registered).toEqual(expected);
  });
});
