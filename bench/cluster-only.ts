/** `node --import tsx bench/cluster-only.ts [chats] [perChat]`: the pipeline on one Redis vs a 3+3 Cluster (bench/cluster-bench.ts). */
import { runClusterBench } from './cluster-bench.ts';

const [chats, perChat] = process.argv.slice(2).map(Number);
const r = await runClusterBench({ chats: chats || undefined, perChat: perChat || undefined });
process.stdout.write(`${JSON.stringify({ cluster: r }, null, 2)}\n`);
process.exit(0);
