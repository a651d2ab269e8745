import { z } from 'zod';
import {
  actionViewSchema,
  cancelSchema,
  createPrincipalSchema,
  decisionSchema,
  evaluateSchema,
  problemSchema,
  proposeActionSchema,
  resultSchema,
} from '../domain/api-schemas';

const schema = (s: z.ZodType, io: 'input' | 'output' = 'input') => z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'openapi-3.0' });

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const ok = (description: string, ref: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const body = (ref: string) => ({ required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const waitParam = { name: 'wait', in: 'query', schema: { type: 'number', minimum: 0, maximum: 60 }, description: 'hold the answer up to this many seconds' };
const common = {
  '400': problem('malformed request (body not JSON, path not UTF-8)'),
  '401': problem('missing or invalid token'),
  '403': problem('wrong role or not allowed'),
  '422': problem('invalid input: schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels'),
};

/** The OpenAPI 3.1 document, generated from the same zod schemas the API validates with. */
export function buildOpenApi(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Countersign API', version: '1.0.0', description: 'Durable approval workflows for AI-agent actions.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Problem: schema(problemSchema, 'output'),
        ActionView: schema(actionViewSchema, 'output'),
        ProposeAction: schema(proposeActionSchema),
        Decision: schema(decisionSchema),
        Cancel: schema(cancelSchema),
        Result: schema(resultSchema),
        CreatePrincipal: schema(createPrincipalSchema),
        Evaluate: schema(evaluateSchema),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/principals': {
        post: { summary: 'Create a principal (admin); the token is shown once', requestBody: body('CreatePrincipal'), responses: { '201': { description: '{ id, token }' }, '409': problem('id taken'), ...common } },
      },
      '/v1/actions': {
        post: {
          summary: 'Propose an action (agent)',
          parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 200 } }, waitParam],
          requestBody: body('ProposeAction'),
          responses: { '201': ok('created', 'ActionView'), '200': ok('same idempotency key and body', 'ActionView'), '409': problem('same key, different body'), ...common },
        },
        get: {
          summary: 'List actions visible to the caller',
          parameters: ['status', 'action', 'agent', 'limit', 'cursor'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
          responses: { '200': { description: '{ items: ActionView[], nextCursor }' }, ...common },
        },
      },
      '/v1/actions/{id}': {
        get: {
          summary: 'Read an action; ?wait=&since= long-polls for a change',
          parameters: [idParam, waitParam, { name: 'since', in: 'query', schema: { type: 'string' } }],
          responses: { '200': ok('the action', 'ActionView'), '404': problem('not found or not visible'), ...common },
        },
      },
      '/v1/actions/{id}/cancel': {
        post: { summary: 'Cancel before execution (proposing agent or operator)', parameters: [idParam], requestBody: { ...body('Cancel'), required: false }, responses: { '200': ok('cancelled', 'ActionView'), '409': problem('not-cancellable; action-stopped'), ...common } },
      },
      '/v1/actions/{id}/result': {
        post: { summary: 'Executor agent: report the outcome', parameters: [idParam], requestBody: body('Result'), responses: { '200': ok('recorded', 'ActionView'), '409': problem('not-awaiting-result; action-stopped'), ...common } },
      },
      '/v1/actions/{id}/decisions': {
        post: {
          summary: 'Approve or deny (reviewer); approve with params = approve with edits',
          parameters: [idParam, { name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } }],
          requestBody: body('Decision'),
          responses: { '200': ok('accepted', 'ActionView'), '409': problem('not-pending; idempotency-conflict (same Idempotency-Key, different body); action-stopped (a write Countersign could not record stopped the action)'), ...common },
        },
      },
      '/v1/approvals': { get: { summary: 'What the caller may decide now, oldest deadline first', responses: { '200': { description: '{ items: ActionView[] }' }, ...common } } },
      '/v1/policy': {
        get: { summary: 'Active policy version', responses: { '200': { description: '{ version, loadedAt, source }' }, ...common } },
        put: {
          summary: 'Validate and activate a bundle (YAML or JSON body)',
          requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } },
          responses: { '200': { description: 'activated' }, ...common },
        },
      },
      '/v1/policy/versions': { get: { summary: 'Stored policy versions', responses: { '200': { description: '{ items }' }, ...common } } },
      '/v1/policy/backtest': {
        post: {
          summary: 'Replay recorded actions against a candidate bundle (YAML or JSON body); nothing changes',
          parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100000 } }],
          requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } } } },
          responses: { '200': { description: '{ candidateVersion, actions, changed, unchanged, changes[] }' }, ...common },
        },
      },
      '/v1/actions/{id}/evidence': {
        get: { summary: 'Signed evidence bundle (operator, or the proposing agent)', parameters: [idParam], responses: { '200': { description: 'EvidenceBundle' }, '404': problem('not found'), ...common } },
      },
      '/v1/actions/{id}/lineage': {
        get: { summary: 'Delegation tree (parentActionId) containing the action', parameters: [idParam], responses: { '200': { description: '{ root, actionId }' }, ...common } },
      },
      '/v1/ledger/verify': { get: { summary: 'Verify every chain and checkpoint (operator)', responses: { '200': { description: '{ ok, events, firstBadSeq?, actionId?, faults[] } (faults: actions stopped by a write Postgres refused for good, until acknowledged)' }, ...common } } },
      '/v1/policy/evaluate': { post: { summary: 'Dry-run a decision; nothing is started', requestBody: body('Evaluate'), responses: { '200': { description: 'PolicyDecision' }, ...common } } },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'ok' } } } },
      '/readyz': { get: { summary: 'Temporal and Postgres reachable', security: [], responses: { '200': { description: 'ready' }, '503': problem('not ready') } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text exposition format' } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
