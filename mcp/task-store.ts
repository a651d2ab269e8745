/**
 * MCP tasks (protocol 2025-11-25, experimental in the SDK) for calls a client asks to run as a
 * task: each task is keyed by the id of the action the call became, so `tasks/get` on it reads
 * as the action's progress. Kept in the gateway's memory: after a restart the task is gone, but
 * the same call with the same arguments still picks its action up. A task is visible only to
 * the session that created it (Streamable HTTP sessions; stdio has one).
 */
import { randomUUID } from 'node:crypto';
import type { CreateTaskOptions, TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { Request, RequestId, Result, Task } from '@modelcontextprotocol/sdk/types.js';

/** A task lives this long after it ends, when the client asked for no ttl. */
const DEFAULT_TTL_MS = 24 * 3_600_000;
/** The longest ttl the gateway keeps a task for. */
const MAX_TTL_MS = 7 * 24 * 3_600_000;

interface Entry {
  task: Task;
  result?: Result;
  sessionId?: string;
  cleanup?: NodeJS.Timeout;
}

/** Tasks by action id (see the file comment). */
export class ActionTaskStore implements TaskStore {
  private readonly tasks = new Map<string, Entry>();

  /** Called when a client cancels a task that has not ended (the gateway then cancels the action if it can). */
  onCancel?: (taskId: string) => void;

  async createTask(params: CreateTaskOptions, _requestId: RequestId, _request: Request, sessionId?: string): Promise<Task> {
    const id = typeof params.context?.actionId === 'string' ? params.context.actionId : `call_${randomUUID()}`;
    const existing = this.tasks.get(id);
    if (existing && existing.sessionId === sessionId) return existing.task;
    const now = new Date().toISOString();
    const ttl = Math.min(params.ttl ?? DEFAULT_TTL_MS, MAX_TTL_MS);
    const task: Task = { taskId: id, status: 'working', ttl, createdAt: now, lastUpdatedAt: now, pollInterval: params.pollInterval ?? 1_000 };
    this.tasks.set(id, { task, sessionId });
    return task;
  }

  async getTask(taskId: string, sessionId?: string): Promise<Task | null> {
    return this.entry(taskId, sessionId)?.task ?? null;
  }

  async storeTaskResult(taskId: string, status: 'completed' | 'failed', result: Result, sessionId?: string): Promise<void> {
    const e = this.entry(taskId, sessionId);
    if (!e || isTerminal(e.task.status)) return;
    e.result = result;
    this.update(e, status);
  }

  async getTaskResult(taskId: string, sessionId?: string): Promise<Result> {
    const e = this.entry(taskId, sessionId);
    if (!e) throw new Error(`Task not found: ${taskId}`);
    if (!e.result) throw new Error(`Task ${taskId} has no result (it is ${e.task.status})`);
    return e.result;
  }

  async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string, sessionId?: string): Promise<void> {
    const e = this.entry(taskId, sessionId);
    if (!e || isTerminal(e.task.status)) return;
    this.update(e, status, statusMessage);
    if (status === 'cancelled') this.onCancel?.(taskId);
  }

  async listTasks(cursor?: string, sessionId?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const all = [...this.tasks.values()].filter((e) => e.sessionId === sessionId).map((e) => e.task);
    const start = cursor ? Number(cursor) : 0;
    const page = all.slice(start, start + 100);
    return { tasks: page, ...(start + 100 < all.length ? { nextCursor: String(start + 100) } : {}) };
  }

  private entry(taskId: string, sessionId?: string): Entry | undefined {
    const e = this.tasks.get(taskId);
    return e && e.sessionId === sessionId ? e : undefined;
  }

  private update(e: Entry, status: Task['status'], statusMessage?: string): void {
    e.task = { ...e.task, status, lastUpdatedAt: new Date().toISOString(), ...(statusMessage !== undefined ? { statusMessage } : {}) };
    if (isTerminal(status) && e.task.ttl !== null) {
      e.cleanup = setTimeout(() => this.tasks.delete(e.task.taskId), e.task.ttl);
      e.cleanup.unref();
    }
  }
}

function isTerminal(status: Task['status']): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}
