/**
 * `node --import tsx bench/push-only.ts <part> [k=v …]`: one push-mode figure at a chosen size
 * (parts: bare, pipeline, drain, latency, shape, memory), for measuring at small sizes on a busy machine.
 */
import { uptime, loadavg } from 'node:os';
import { benchBareBullmqProfiled, benchDrainProcess, benchLatency, benchPipeline, benchRedisMemory, benchShape } from './inbound-bench.ts';

const [part, ...kv] = process.argv.slice(2);
const arg = Object.fromEntries(kv.map((s) => s.split('=')).map(([k, v]) => [k, Number(v)])) as Record<string, number>;
const num = (k: string, d: number) => (Number.isFinite(arg[k]) ? arg[k] : d);
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);
const before = load();
let result: unknown;
if (part === 'bare') result = await benchBareBullmqProfiled(num('n', 20_000));
else if (part === 'pipeline')
  result = await benchPipeline({
    chats: num('chats', 20),
    perChat: num('perChat', 1000),
    batchMax: num('batch', 100),
    maxSessions: 1,
    preload: arg.preload === 1,
    latency: { perCallMs: num('perCallMs', 0), perMessageMs: num('perMessageMs', 0) },
  });
else if (part === 'drain')
  result = await benchDrainProcess({
    chats: num('chats', 1000),
    perChat: num('perChat', 100),
    batchMax: arg.batch,
    perCallMs: num('perCallMs', 20),
    perMessageMs: num('perMessageMs', 0.1),
  });
else if (part === 'latency')
  result = await benchLatency({
    rate: num('rate', 200),
    seconds: num('seconds', 10),
    chats: num('chats', 20),
    onecCallMs: num('onecCallMs', 5),
  });
else if (part === 'shape')
  result = await benchShape({
    manyChats: num('manyChats', 2000),
    manyPerChat: num('manyPerChat', 3),
    fewChats: num('fewChats', 20),
    batchMax: arg.batch,
    preload: arg.preload === 1,
    latency: { perCallMs: num('perCallMs', 0), perMessageMs: num('perMessageMs', 0) },
  });
else if (part === 'memory') result = await benchRedisMemory({ chats: num('chats', 2000), perChat: num('perChat', 3) });
else {
  process.stderr.write('parts: bare | pipeline | drain | latency | shape | memory\n');
  process.exit(2);
}
process.stdout.write(
  `${JSON.stringify({ part, args: arg, loadBefore: before, loadAfter: load(), uptimeS: Math.round(uptime()), result }, null, 2)}\n`,
);
process.exit(0);
