import pino, { type Logger } from 'pino';

/** Structured JSON logs. Tokens and secrets are redacted wherever they could appear. */
export function createLogger(level: string, name = 'countersign'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token', 'adminToken', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
