/**
 * `node --import tsx bench/pull-only.ts [chats] [perChat] [phased|overlapped] [prefetch]`:
 * only the pull drain of `npm run bench -- --only pull` (for profiling).
 */
import { benchPullDrain } from './pull-bench.ts';

const chats = Number(process.argv[2] ?? 1000);
const perChat = Number(process.argv[3] ?? 100);
const mode = process.argv[4] === 'overlapped' ? 'overlapped' : 'phased';
const costs = process.env.BENCH_ZERO_COST ? { perCallMs: 0, perMessageMs: 0 } : { perCallMs: 20, perMessageMs: 0.1 };
const r = await benchPullDrain({
  chats,
  perChat,
  pageSize: 500,
  ...costs,
  mode,
  prefetch: process.argv[5] === 'prefetch',
  progress: (l) => process.stderr.write(`${l}\n`),
});
process.stdout.write(`${JSON.stringify({ pull: r }, null, 2)}\n`);
process.exit(0);
