/**
 * `node --import tsx bench/cpu-cost.ts <pipeline|shape|bare|latency> [k=v …]` with REDIS_URL pointing at a Redis
 * of its own (`redis-server --port 6491 --pidfile P` and REDIS_PID=<its pid>): CPU time per message of this
 * process and of that Redis, beside the wall-clock figures — steadier than wall time on a shared machine.
 */
import { readFileSync } from 'node:fs';
import { benchBareBullmqProfiled, benchLatency, benchPipeline, benchShape } from './inbound-bench.ts';

const [part, ...kv] = process.argv.slice(2);
const arg = Object.fromEntries(kv.map((s) => s.split('=')).map(([k, v]) => [k, Number(v)])) as Record<string, number>;
const num = (k: string, d: number) => (Number.isFinite(arg[k]) ? arg[k] : d);
const redisPid = process.env.REDIS_PID;
/** utime + stime of the Redis process, ms (clock ticks of 10 ms). */
const redisCpuMs = () => {
  if (!redisPid) return 0;
  const f = readFileSync(`/proc/${redisPid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const c0 = process.cpuUsage();
const r0 = redisCpuMs();
let n = 0;
let result: unknown;
if (part === 'bare') {
  n = num('n', 20_000);
  result = await benchBareBullmqProfiled(n);
} else if (part === 'pipeline') {
  n = num('chats', 20) * num('perChat', 1000);
  result = await benchPipeline({
    chats: num('chats', 20),
    perChat: num('perChat', 1000),
    batchMax: num('batch', 100),
    maxSessions: 1,
    preload: arg.preload === 1,
  });
} else if (part === 'latency') {
  n = num('rate', 1000) * num('seconds', 5);
  result = await benchLatency({
    rate: num('rate', 1000),
    seconds: num('seconds', 5),
    chats: num('chats', 20),
    onecCallMs: num('onecCallMs', 5),
  });
} else if (part === 'shape') {
  n = 2 * num('manyChats', 2000) * num('manyPerChat', 3);
  result = await benchShape({
    manyChats: num('manyChats', 2000),
    manyPerChat: num('manyPerChat', 3),
    fewChats: num('fewChats', 20),
    preload: true,
  });
}
const c = process.cpuUsage(c0);
const us = (x: number) => Math.round((x / n) * 10) / 10;
process.stdout.write(
  `${JSON.stringify({ part, args: arg, nodeCpuUsPerMsg: us(c.user + c.system), redisCpuUsPerMsg: us((redisCpuMs() - r0) * 1000), result })}\n`,
);
process.exit(0);
