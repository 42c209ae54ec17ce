/**
 * Counts the Redis commands and round trips this process sends, by command (a Lua script by
 * the name it was defined under: ours `lane*`, BullMQ's `addStandardJob`, `moveToFinished`…),
 * without MONITOR and without the shared Redis's global stats (other clients use it too).
 *
 * It wraps ioredis itself (every client of the process, BullMQ's included): a command sent
 * alone is one round trip; a pipeline (or MULTI) is one round trip for all its commands.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

interface Counted {
  name: string;
  args?: unknown[];
  /** Set on the commands of a pipeline when it is executed (they share one round trip). */
  profiledInPipeline?: boolean;
}

export interface RedisProfile {
  /** Commands by name since the last reset. */
  commands: Record<string, number>;
  /** Round trips by name (a pipeline counts once, under `pipeline:<its first command>`). */
  roundTrips: Record<string, number>;
  totalCommands: number;
  totalRoundTrips: number;
}

const shaNames = new Map<string, string>();
let counting = false;
let commands: Record<string, number> = {};
let trips: Record<string, number> = {};
let installed = false;

function nameOf(c: Counted): string {
  const n = c.name.toLowerCase();
  if (n === 'evalsha' && c.args && c.args.length > 0) return shaNames.get(String(c.args[0])) ?? 'evalsha:?';
  if (n === 'eval' && c.args && c.args.length > 0) return shaNames.get(sha1(String(c.args[0]))) ?? 'eval:?';
  return n;
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

/** Starts counting (idempotent). Call before the clients to profile define their scripts. */
export function installRedisProfile(): void {
  if (installed) return;
  installed = true;
  // ioredis keeps these on the prototype chain of Redis (Commander → Redis); the types
  // do not declare them, so they are reached through a loose view of the prototype.
  const proto = Redis.prototype as unknown as {
    // Function-typed properties, not methods: they are taken off the prototype and called with `this` given.
    defineCommand: (this: unknown, name: string, def: { lua: string; numberOfKeys?: number }) => void;
    sendCommand: (this: unknown, command: Counted, ...rest: unknown[]) => unknown;
    pipeline: (this: unknown, ...a: unknown[]) => { exec(...b: unknown[]): Promise<unknown> };
    multi(...a: unknown[]): unknown;
  };
  const define = proto.defineCommand;
  proto.defineCommand = function (this: unknown, name: string, def: { lua: string; numberOfKeys?: number }) {
    shaNames.set(sha1(def.lua), name);
    return define.call(this, name, def);
  };
  const send = proto.sendCommand;
  proto.sendCommand = function (this: unknown, command: Counted, ...rest: unknown[]) {
    if (counting) {
      const n = nameOf(command);
      commands[n] = (commands[n] ?? 0) + 1;
      if (!command.profiledInPipeline && n !== 'exec' && n !== 'multi') trips[n] = (trips[n] ?? 0) + 1;
    }
    return send.call(this, command, ...rest);
  };
  const pipeline = proto.pipeline;
  proto.pipeline = function (this: unknown, ...a: unknown[]) {
    const p = pipeline.apply(this, a) as { exec(...b: unknown[]): Promise<unknown>; _queue?: Counted[] };
    const exec = p.exec.bind(p);
    p.exec = (...b: unknown[]) => {
      const first = p._queue?.[0];
      if (counting) {
        const n = `pipeline:${first ? nameOf(first) : 'empty'}`;
        trips[n] = (trips[n] ?? 0) + 1;
      }
      for (const c of p._queue ?? []) c.profiledInPipeline = true;
      return exec(...b);
    };
    return p;
  };
  // MULTI without a pipeline goes through pipeline() internally in ioredis, so it is counted above.
}

export function resetRedisProfile(): void {
  commands = {};
  trips = {};
  counting = true;
}

export function readRedisProfile(): RedisProfile {
  const sum = (o: Record<string, number>) => Object.values(o).reduce((s, v) => s + v, 0);
  return { commands: { ...commands }, roundTrips: { ...trips }, totalCommands: sum(commands), totalRoundTrips: sum(trips) };
}

export function stopRedisProfile(): RedisProfile {
  const p = readRedisProfile();
  counting = false;
  return p;
}
