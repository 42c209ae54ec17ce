/**
 * Runs a command with a Redis that answers: REDIS_URL when it does, otherwise a private
 * redis-server started for the duration of the command (installed first when missing and
 * possible). Used by `npm test` and `npm run bench`. For the test runner (vitest) it also
 * sets up Chromium for the dashboard's browser test (installed when missing and possible;
 * otherwise one line says how, and that test is skipped with the same line as its reason).
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { ensureRedis, RedisUnavailableError } from '../src/infra/embedded-redis.ts';
import { ensureChromium } from '../src/infra/embedded-chromium.ts';

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
const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url };
if (basename(cmd) === 'vitest') {
  const browser = ensureChromium();
  if (browser.path !== null) env.CHROMIUM_PATH = browser.path;
  else {
    console.error(`(the dashboard browser test will be SKIPPED: ${browser.reason})`);
    env.CHROMIUM_UNAVAILABLE = browser.reason;
  }
}
const child = spawn(cmd, args, { stdio: 'inherit', env, shell: false });
const forward = (sig: NodeJS.Signals) => child.kill(sig);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => {
  void redis.stop().then(() => process.exit(code ?? (signal ? 1 : 0)));
});
