/**
 * Runs a command with a Redis that answers: REDIS_URL when it does, otherwise a private
 * redis-server started for the duration of the command (installed first when missing and
 * possible). Used by `npm test` and `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { ensureRedis, RedisUnavailableError } from '../src/infra/embedded-redis.ts';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('usage: with-redis <command> [args…]');
  process.exit(2);
}
let redis;
try {
  redis = await ensureRedis();
} catch (e) {
  console.error(e instanceof RedisUnavailableError ? e.message : `Could not get a Redis: ${String(e)}`);
  process.exit(1);
}
if (redis.owned) console.error(`(no Redis answered; started a private redis-server at ${redis.url})`);
const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, REDIS_URL: redis.url }, shell: false });
const forward = (sig: NodeJS.Signals) => child.kill(sig);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', async (code, signal) => {
  await redis.stop();
  process.exit(code ?? (signal ? 1 : 0));
});
