/**
 * `npm run demo`: the whole pipeline on this machine with nothing configured — Redis
 * (embedded when none answers), the 1C emulator, the emulated Telegram Bot API with
 * simulated customers writing a few chats of mixed messages, and the real connector
 * between them. Prints messages as they arrive in "1C", and where to look.
 *
 * Options: --once (exit 0 once every simulated message is in 1C; for scripts),
 *          --port N (HTTP port, default 8080 or a free one), --rate N (messages per second).
 */
import { randomBytes } from 'node:crypto';
import { createConnector } from '../connector.ts';
import type { InboundMessage } from '../core/index.ts';
import { freePort } from '../infra/embedded-redis.ts';
import { startLocalStack } from '../infra/local-stack.ts';
import { createLogger } from '../infra/logger.ts';
import { deleteKeysWithPrefix } from '../queues/redis-connection.ts';
import { productFeatures } from './features.ts';
import { runSimulatedCustomers } from './demo-customers.ts';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function portOr(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => {
      freePort().then(resolve, () => resolve(0));
    });
    s.listen(preferred, '127.0.0.1', () => s.close(() => resolve(preferred)));
  });
}

export async function runDemo(args: string[]): Promise<number> {
  const once = args.includes('--once');
  const rate = Number(flag(args, '--rate') ?? 4);
  const port = await portOr(Number(flag(args, '--port') ?? 8080));
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say('chat-connector demo: starting Redis (if none answers), the 1C emulator and an emulated Telegram Bot API …');

  const adminPassword = randomBytes(9).toString('base64url');
  const stack = await startLocalStack({
    bots: [{ username: 'demo_shop_bot' }, { username: 'demo_support_bot' }],
    onec: { latency: { perCallMs: 15, perMessageMs: 0.2, newSessionMs: 40 } },
    httpPort: port,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ADMIN_USER: 'admin', ADMIN_PASSWORD: adminPassword },
  });
  const logger = createLogger({
    level: stack.config.logLevel,
    secrets: [stack.config.apiToken, adminPassword, ...stack.config.telegram.tokens],
  });

  const seen = new Set<string>();
  const arrived = (m: InboundMessage) => {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    const what = `${m.outgoing ? '(owner, from the phone) ' : ''}${describeMessage(m)}`;
    say(`[1C] ${m.chatId.padEnd(30)} #${String(m.seq).padEnd(3)} ${(m.sender.name ?? '').padEnd(16)} ${what}`);
  };
  const connector = await createConnector(stack.config, {
    logger,
    inboundObserver: { delivered: (ms) => ms.forEach(arrived) },
    features: productFeatures(),
  });
  await connector.start();
  const api = connector.url ?? stack.config.http.publicUrl;
  const token = stack.config.apiToken ?? '';
  say('');
  say(`Connector API      ${api}   (Authorization: Bearer ${token})`);
  say(`  readiness        ${api}/readyz`);
  say(`  licenses         curl -H "Authorization: Bearer ${token}" ${api}/api/v1/licenses`);
  say(`  accounts         curl -H "Authorization: Bearer ${token}" ${api}/api/v1/accounts`);
  say(`  queue dashboard  ${api}/admin/queues   (admin / ${adminPassword})`);
  say(`  metrics          ${api}/metrics`);
  say(`1C emulator        ${stack.onec.url}   (what 1C received: ${new URL(stack.onec.url).origin}/_emulator/state)`);
  say(`Telegram Bot API   ${stack.telegram.apiRoot}   (emulated; bots ${stack.bots.map((b) => '@' + b.username).join(', ')})`);
  say(
    `Redis              ${stack.redis.url}${stack.redis.owned ? '   (started for the demo)' : ''}, key prefix ${stack.config.queuePrefix}`,
  );
  say('');
  say('Simulated customers are writing; each line below is a message as 1C stored it (chat, seq, sender, content). Ctrl-C stops.');

  const customers = runSimulatedCustomers(stack, { ratePerSec: rate, rounds: once ? 1 : Infinity });
  say(
    `Telegram Business  a business account is connected to @${stack.bots[0].username}; answer its customer through the connection:\n` +
      `  curl -H "Authorization: Bearer ${token}" -H 'content-type: application/json' ${api}/api/v1/messages ` +
      `-d '{"id":"demo-biz-1","chatId":"${customers.businessChatKey}","text":"Ждём вас!","media":[],"replyTo":null,"operatorId":null}'`,
  );
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return code;
    stopping = true;
    customers.stop();
    say('\nstopping …');
    await connector.stop();
    // Our keys only: the demo may share a Redis with other things.
    await cleanupPrefix(stack.redis.url, stack.config.queuePrefix);
    await stack.stop();
    say(`stopped. ${seen.size} messages reached 1C.`);
    return code;
  };

  if (once) {
    await customers.done;
    const expected = customers.sent();
    const deadline = Date.now() + 60_000;
    while (seen.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const ok = seen.size >= expected;
    if (!ok) say(`only ${seen.size} of ${expected} messages reached 1C within a minute`);
    return stop(ok ? 0 : 1);
  }
  return new Promise((resolve) => {
    const onSignal = () => {
      stop(0).then(resolve, () => resolve(1));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

async function cleanupPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  // Best effort: leftover demo keys are harmless and prefixed.
  await deleteKeysWithPrefix(r, `${prefix}:`).catch(() => undefined);
  r.disconnect();
}

/** One line of what a message holds, for the demo's running log. */
function describeMessage(m: InboundMessage): string {
  const text = m.text ? ` ${JSON.stringify(m.text)}` : '';
  const files = m.media.length ? ` (${m.media.length} file, ${m.media[0].size} bytes, sha256 ${m.media[0].sha256.slice(0, 8)}…)` : '';
  switch (m.kind) {
    case 'text':
      return JSON.stringify(m.text);
    case 'location':
      return `location ${m.location.lat}, ${m.location.lon}${m.location.name ? ` "${m.location.name}"` : ''}`;
    case 'contact':
      return `contact ${m.contact.name ?? ''} ${m.contact.phone ?? ''}`.trimEnd();
    case 'edit':
      return `edit of ${m.target.split(':').pop()}${text}`;
    default:
      return `${m.kind}${text}${files}`;
  }
}
