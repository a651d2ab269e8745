import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVIDENCE_EVENT_TYPES } from '../../domain/action-types';
import { LEDGER_EVENT_TYPES } from '../../ledger/chain';
import { EXECUTOR_FAILURES, FINAL_EXECUTOR_FAILURES } from '../../domain/failure-types';
import { SEARCH_ATTRIBUTE_DECLARATIONS, SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { searchAttributeArgs } from '../../runtime/temporal-server';
import { approvedStatus, EXECUTOR_ACTIVITY_OPTIONS, EXECUTORS } from '../../workflows/executors';
import { searchAttributeKeys } from '../../workflows/search-attribute-keys';

// Registries written once (domain/): what is derived from them, and the files that cannot
// import them (SQL, docs), agree with them.

const ROOT = path.resolve(__dirname, '../..');

describe('search attribute registry', () => {
  it('when the dev server is started, then its --search-attribute args are the registry, one per attribute', () => {
    const args = searchAttributeArgs();
    const pairs = args.filter((_, i) => i % 2 === 1);
    expect(args.filter((_, i) => i % 2 === 0)).toEqual(Object.keys(SEARCH_ATTRIBUTES).map(() => '--search-attribute'));
    expect(pairs).toEqual(Object.values(SEARCH_ATTRIBUTES).map((a) => `${a.name}=${a.type}`));
  });

  it('when the workflow keys are derived, then each has its registry name and the matching SDK type', () => {
    const sdkType = { Keyword: 'KEYWORD', KeywordList: 'KEYWORD_LIST', Datetime: 'DATETIME', Bool: 'BOOL' } as const;
    for (const [key, a] of Object.entries(SEARCH_ATTRIBUTES)) {
      expect(searchAttributeKeys[key as keyof typeof SEARCH_ATTRIBUTES]).toEqual({ name: a.name, type: sdkType[a.type] });
    }
    expect(Object.keys(SEARCH_ATTRIBUTE_DECLARATIONS)).toEqual(Object.values(SEARCH_ATTRIBUTES).map((a) => a.name));
  });

  it('when the operations guide lists the search attributes, then it names each with its type', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8').replace(/\s+/g, ' ');
    for (const a of Object.values(SEARCH_ATTRIBUTES)) expect(doc).toContain(`\`${a.name}\` (${a.type})`);
  });
});

describe('evidence event type registry', () => {
  it('when the ledger table checks event types, then it allows exactly the registry', () => {
    // The latest migration that (re)defines the CHECK on ledger_events.type is the one in force.
    const dir = path.join(ROOT, 'ledger/migrations');
    const checks = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .map((sql) => /(?:type\s+text\s+NOT NULL CHECK|ADD CONSTRAINT ledger_events_type_check CHECK) \(type IN \(([^)]*)\)\)/.exec(sql))
      .filter((m) => m !== null);
    expect(checks.length, 'the CHECK on ledger_events.type').toBeGreaterThan(0);
    const allowed = [...checks[checks.length - 1]![1]!.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]);
    expect(allowed.sort()).toEqual([...LEDGER_EVENT_TYPES].sort());
    expect(LEDGER_EVENT_TYPES).toEqual(expect.arrayContaining([...EVIDENCE_EVENT_TYPES]));
  });
});

describe('executor registry', () => {
  it('when an action is approved, then an executor that waits for a report shows approved and one the workflow runs shows executing', () => {
    expect(Object.keys(EXECUTORS).sort()).toEqual(['agent', 'http']);
    expect(approvedStatus({ type: 'agent' })).toBe('approved');
    expect(approvedStatus({ type: 'http', url: 'http://target.test/' })).toBe('executing');
    expect(approvedStatus(null)).toBe('executing');
  });

  it('when the executor activity is retried, then it stops on exactly the final executor failures', () => {
    expect(EXECUTOR_ACTIVITY_OPTIONS.retry?.nonRetryableErrorTypes).toEqual([EXECUTOR_FAILURES.rejected, EXECUTOR_FAILURES.digestMismatch]);
    expect(FINAL_EXECUTOR_FAILURES).not.toContain(EXECUTOR_FAILURES.unavailable);
  });
});
