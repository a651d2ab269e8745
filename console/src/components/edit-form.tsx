/**
 * Approve with edits: a form built from the action's params JSON Schema, the diff against the
 * params as proposed, and the plan policy gives the edited params (a dry run on the server),
 * all before anything is sent.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, type ActionReview, type ActionView, type EditPreview } from '../api';
import { MASK, duration, short } from '../format';
import { decisionErrorText, ErrorNote, sendDecision } from './common';

type Schema = { type?: string | string[]; enum?: unknown[]; description?: string; title?: string; properties?: Record<string, Schema>; required?: string[]; 'x-sensitive'?: boolean; minimum?: number; maximum?: number };

/** One changed param. */
interface Change {
  path: string;
  from: unknown;
  to: unknown;
}

/** The top-level differences between two params objects (nested values compared as JSON). */
export function paramChanges(before: Record<string, unknown>, after: Record<string, unknown>): Change[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => ({ path: `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, from: before[k], to: after[k] }));
}

function kindOf(s: Schema | undefined): 'number' | 'integer' | 'string' | 'boolean' | 'enum' | 'json' {
  if (!s) return 'json';
  if (s.enum) return 'enum';
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  return t === 'number' || t === 'integer' || t === 'string' || t === 'boolean' ? t : 'json';
}

/** The text a field starts with. */
function fieldText(value: unknown, kind: ReturnType<typeof kindOf>): string {
  if (value === undefined) return '';
  if (kind === 'json') return JSON.stringify(value, null, 2);
  if (kind === 'enum') return JSON.stringify(value);
  return String(value);
}

/** A field's text as a value, or an error. */
function parseField(text: string, kind: ReturnType<typeof kindOf>, sensitive: boolean): { value?: unknown; error?: string } {
  if (sensitive && text === MASK) return { value: MASK };
  if (text === '' && kind !== 'string') return { value: undefined };
  switch (kind) {
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: 'a number' };
      if (kind === 'integer' && !Number.isInteger(n)) return { error: 'a whole number' };
      return { value: n };
    }
    case 'boolean':
      return { value: text === 'true' };
    case 'string':
      return { value: text };
    default:
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { error: 'valid JSON' };
      }
  }
}

export function EditForm({ review, onCancel, onDone }: { review: ActionReview; onCancel: () => void; onDone: (view: ActionView) => void }) {
  const { action, paramsSchema, sensitive } = review;
  const schema = (paramsSchema ?? {}) as Schema;
  const props = schema.properties ?? {};
  const keys = [...new Set([...Object.keys(props), ...Object.keys(action.params)])];
  const isSensitive = (k: string) => props[k]?.['x-sensitive'] === true || action.params[k] === MASK || sensitive.some((p) => p === '/' || p === `/${k}` || p === '/*');
  const [texts, setTexts] = useState<Record<string, string>>(() => Object.fromEntries(keys.map((k) => [k, fieldText(action.params[k], kindOf(props[k]))])));
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<{ for: string; answer?: EditPreview; error?: unknown }>();
  const [sending, setSending] = useState(false);
  const [sendError, setSendError] = useState<string>();

  const parsed = useMemo(() => {
    const params: Record<string, unknown> = {};
    const errors: Record<string, string> = {};
    for (const k of keys) {
      const kind = kindOf(props[k]);
      const r = parseField(texts[k] ?? '', kind, isSensitive(k));
      if (r.error) errors[k] = `must be ${r.error}`;
      else if (r.value !== undefined) params[k] = r.value;
    }
    return { params, errors };
  }, [texts]);
  const changes = paramChanges(action.params, parsed.params);
  const valid = Object.keys(parsed.errors).length === 0;
  const key = JSON.stringify(parsed.params);

  // The plan for these params, asked for a moment after the last keystroke.
  useEffect(() => {
    if (!valid || changes.length === 0) return;
    const ctl = new AbortController();
    const t = window.setTimeout(() => {
      api<EditPreview>('POST', `/v1/actions/${encodeURIComponent(action.id)}/edit-preview`, { params: parsed.params }, { signal: ctl.signal }).then(
        (answer) => setPreview({ for: key, answer }),
        (error: Error) => error.name !== 'AbortError' && setPreview({ for: key, error }),
      );
    }, 250);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [key, valid]);

  const current = preview?.for === key ? preview : undefined;
  const canSend = valid && changes.length > 0 && current?.answer && current.answer.decision !== 'deny' && !sending;

  const send = async (e: Event) => {
    e.preventDefault();
    if (!canSend) return;
    setSending(true);
    setSendError(undefined);
    try {
      onDone(await sendDecision(action.id, 'approve', { params: parsed.params, reason: reason.trim() || undefined, digest: action.approval?.digest }));
    } catch (err) {
      setSendError(decisionErrorText(err));
      setSending(false);
    }
  };

  return (
    <form class="edit-form" onSubmit={send} aria-labelledby="edit-title">
      <h3 id="edit-title">Approve with edits</h3>
      <p class="muted">Change the params, check the difference and the approvals the edited action needs, then send. Hidden values stay hidden: leave {MASK} to keep one, or type a new value.</p>
      <div class="fields">
        {keys.map((k) => {
          const s = props[k];
          const kind = kindOf(s);
          const id = `edit-${k}`;
          const err = parsed.errors[k];
          const set = (v: string) => setTexts((t) => ({ ...t, [k]: v }));
          const described = [s?.description ? `${id}-help` : '', err ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
          return (
            <div class="field" key={k}>
              <label for={id}>
                {s?.title ?? k}
                {schema.required?.includes(k) ? '' : ' (optional)'}
                {isSensitive(k) ? ' — hidden' : ''}
              </label>
              {kind === 'enum' && !isSensitive(k) ? (
                <select id={id} value={texts[k]} onChange={(e) => set((e.target as HTMLSelectElement).value)} aria-describedby={described}>
                  {(s?.enum ?? []).map((v) => (
                    <option value={JSON.stringify(v)}>{String(v)}</option>
                  ))}
                </select>
              ) : kind === 'boolean' && !isSensitive(k) ? (
                <select id={id} value={texts[k]} onChange={(e) => set((e.target as HTMLSelectElement).value)} aria-describedby={described}>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : kind === 'json' && !isSensitive(k) ? (
                <textarea id={id} rows={4} value={texts[k]} onInput={(e) => set((e.target as HTMLTextAreaElement).value)} aria-invalid={err ? 'true' : undefined} aria-describedby={described} />
              ) : (kind === 'number' || kind === 'integer') && !isSensitive(k) ? (
                <input
                  id={id}
                  type="number"
                  step="any"
                  inputMode="decimal"
                  value={texts[k]}
                  onInput={(e) => set((e.target as HTMLInputElement).value)}
                  aria-invalid={err ? 'true' : undefined}
                  aria-describedby={described}
                />
              ) : (
                <input
                  id={id}
                  type="text"
                  value={texts[k]}
                  autocomplete="off"
                  onInput={(e) => set((e.target as HTMLInputElement).value)}
                  aria-invalid={err ? 'true' : undefined}
                  aria-describedby={described}
                />
              )}
              {s?.description ? (
                <small id={`${id}-help`} class="muted">
                  {s.description}
                </small>
              ) : null}
              {err ? (
                <small id={`${id}-err`} class="error">
                  {k} {err}
                </small>
              ) : null}
            </div>
          );
        })}
      </div>

      <section aria-labelledby="diff-title" class="diff-box">
        <h4 id="diff-title">Changes</h4>
        {changes.length === 0 ? (
          <p class="muted">No changes yet.</p>
        ) : (
          <table class="diff" aria-label="Changed params">
            <thead>
              <tr>
                <th scope="col">Param</th>
                <th scope="col">Proposed</th>
                <th scope="col">Your edit</th>
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.path}>
                  <th scope="row">{c.path}</th>
                  <td>
                    <del>{c.from === undefined ? '(none)' : short(c.from, 200)}</del>
                  </td>
                  <td>
                    <ins>{c.to === undefined ? '(removed)' : c.to === MASK ? '•••• (kept)' : short(c.to, 200)}</ins>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="plan-title" class="plan-box" aria-live="polite">
        <h4 id="plan-title">What the edited action needs</h4>
        {changes.length === 0 || !valid ? (
          <p class="muted">Edit a param to see the approvals it would need.</p>
        ) : !current ? (
          <p class="muted">Asking policy…</p>
        ) : current.error ? (
          <ErrorNote error={current.error instanceof ApiError ? current.error : String(current.error)} />
        ) : current.answer ? (
          <PlanSummary preview={current.answer} />
        ) : null}
      </section>

      <label for="edit-reason">Reason (optional)</label>
      <textarea id="edit-reason" rows={2} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
      {sendError ? (
        <p class="error" role="alert">
          {sendError}
        </p>
      ) : null}
      <div class="buttons">
        <button type="submit" class="primary" disabled={!canSend}>
          Send approval with edits
        </button>
        <button type="button" onClick={onCancel}>
          Cancel edits
        </button>
      </div>
    </form>
  );
}

function PlanSummary({ preview }: { preview: EditPreview }) {
  if (preview.decision === 'deny') {
    return (
      <p class="error" role="alert">
        Policy would deny this edit{preview.ruleIds.length ? ` (${preview.ruleIds.join(', ')})` : ''}: {preview.reason}. It cannot be sent.
      </p>
    );
  }
  if (preview.decision === 'allow' || !preview.plan) {
    return (
      <p>
        Policy would allow these params without approval{preview.ruleIds.length ? ` (${preview.ruleIds.join(', ')})` : ''}. The action's current plan still applies, and your approval counts toward it.
      </p>
    );
  }
  return (
    <div class="plan-preview">
      <p>
        Policy: <strong>approval required</strong>
        {preview.ruleIds.length ? ` (${preview.ruleIds.join(', ')})` : ''}
        {preview.reason ? ` — ${preview.reason}` : ''}
      </p>
      <ol>
        {preview.plan.steps.map((s, i) => (
          <li key={i}>
            Step {i + 1}: {s.quorum} approval{s.quorum === 1 ? '' : 's'} from <strong>{s.group}</strong> within {duration(s.timeoutMs)}
            {s.escalateTo.length ? `, then ${s.escalateTo.map((e) => e.group).join(', ')}` : ''}
          </li>
        ))}
      </ol>
      <p class="muted">The edited action must satisfy this plan and its current one; only votes for the edited params count (yours included), and deadlines restart at the edit.</p>
    </div>
  );
}
