/**
 * `node --import tsx scripts/cluster-e2e.ts [test files…]`: starts a private 3 + 3 Redis
 * Cluster (src/infra/local-cluster.ts) and runs the given end-to-end tests (default: the
 * inbound and outbound ones) unchanged against it, with TEST_REDIS_CLUSTER_NODES set — the
 * test stack then gives the connector REDIS_CLUSTER_NODES and the default 16 shards.
 */
import { spawnSync } from 'node:child_process';
import { startLocalCluster } from '../src/infra/local-cluster.ts';

const files = process.argv.slice(2);
const tests = files.length ? files : ['test/e2e/inbound-e2e.test.ts', 'test/outbound/outbound-delivery.test.ts'];
const cluster = await startLocalCluster({ primaries: 3, replicasPer: 1 });
let status: number;
try {
  const r = spawnSync('npx', ['vitest', 'run', ...tests], {
    stdio: 'inherit',
    env: { ...process.env, TEST_REDIS_CLUSTER_NODES: cluster.nodes },
  });
  status = r.status ?? 1;
} finally {
  await cluster.stop();
}
process.exit(status);
