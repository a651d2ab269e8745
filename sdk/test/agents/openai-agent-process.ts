/*
 * An agent process for the crash test (test/integration/sdk-openai-agents.test.ts): the real
 * @openai/agents runner with a ScriptedModel that replays one recorded function call (CALL_ID),
 * as a run resumed from saved state would. The governed tool appends one line per execution to
 * MARK_FILE, so the test can count executions across processes. Prints the final output.
 */
import fs from 'node:fs';
import { Agent, run, setTracingDisabled } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall, modelResponder } from '@openai/agents/testing';
import { z } from 'zod';
import { Countersign } from '../../src/index.js';
import { governedTool } from '../../src/openai-agents.js';

setTracingDisabled(true);
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const cs = new Countersign({ url: env('COUNTERSIGN_URL'), token: env('COUNTERSIGN_TOKEN') });
const sendEmail = governedTool({
  client: cs,
  action: 'email.send',
  name: 'send_email',
  description: 'Send an email',
  parameters: z.object({ to: z.string(), subject: z.string() }),
  execute: async ({ to }: { to: string; subject: string }) => {
    fs.appendFileSync(env('MARK_FILE'), `sent to ${to}\n`);
    return `sent to ${to}`;
  },
});
const model = new ScriptedModel([
  [functionCall('send_email', { to: env('TO'), subject: 'order' }, { callId: env('CALL_ID') })],
  modelResponder((call) => {
    const result = (call.request.input as { type?: string; output?: unknown }[]).find((i) => i.type === 'function_call_result');
    return [assistantMessage(`tool said: ${JSON.stringify(result?.output)}`)];
  }),
]);
const agent = new Agent({ name: 'mailer', instructions: 'Send emails when asked.', model, tools: [sendEmail] });
const result = await run(agent, 'place the order');
process.stdout.write(`${JSON.stringify({ finalOutput: result.finalOutput })}\n`);
