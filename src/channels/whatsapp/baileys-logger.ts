/**
 * Baileys wants a pino-like ILogger (with `level` and `trace`). It is chatty: its `info`
 * goes to our `debug`, `trace` is dropped; warnings and errors stay what they are.
 */
import type { ILogger } from '@whiskeysockets/baileys/lib/Utils/logger.js';
import type { Logger } from '../../core/index.ts';

export type { ILogger };

export function toBaileysLogger(logger: Logger): ILogger {
  // pino's methods need their `this`: always call them on the logger
  const call =
    (level: 'debug' | 'warn' | 'error') =>
    (obj: unknown, msg?: string): void => {
      if (typeof obj === 'string') logger[level](msg ? `${obj} ${msg}` : obj);
      else if (obj && typeof obj === 'object') logger[level](obj, msg);
      else logger[level]({ value: obj }, msg);
    };
  return {
    level: 'info',
    child: (bindings) => toBaileysLogger(logger.child(bindings)),
    trace: () => undefined,
    debug: call('debug'),
    info: call('debug'),
    warn: call('warn'),
    error: call('error'),
  };
}
