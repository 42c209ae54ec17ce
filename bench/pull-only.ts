/** `node --import tsx bench/pull-only.ts`: only the pull drain of `npm run bench -- pull` (no push drain beside it). */
import { benchPullDrain } from './pull-bench.ts';

const r = await benchPullDrain({ chats: 1000, perChat: 100, pageSize: 500, perCallMs: 20, perMessageMs: 0.1 });
process.stdout.write(`${JSON.stringify({ pull: r }, null, 2)}\n`);
process.exit(0);
