/**
 * `npm run demo`: the whole pipeline on this machine with nothing configured — Redis
 * (embedded when none answers), the 1C emulator, the emulated Telegram Bot API with
 * simulated customers writing a few chats of mixed messages, and the real connector
 * between them. Prints messages as they arrive in "1C", and where to look.
 *
 * Options: --once (exit 0 once every simulated message is in 1C; for scripts),
 *          --port N (HTTP port, default 8080 or a free one), --rate N (messages per second),
 *          --pull (ONEC_MODE=pull: an emulated 1C job fetches GET /api/v1/onec/updates and acks).
 */
import { randomBytes } from 'node:crypto';
import { createConnector } from '../connector.ts';
import { EmulatorPullPoller } from '../onec/emulator/index.ts';
import { SYSTEM_SENDER, type InboundMessage } from '../core/index.ts';
import { freePort } from '../infra/embedded-redis.ts';
import { startLocalStack } from '../infra/local-stack.ts';
import { createLogger } from '../infra/logger.ts';
import { deleteKeysWithPrefix } from '../redis/redis-connection.js';
import { productFeatures } from './features.ts';
import { runSimulatedCustomers } from './demo-customers.ts';
import { configureDemoSettings } from './demo-settings.ts';
import { DEMO_USERS } from '../onec/emulator/emulator-types.ts';

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
  const pull = args.includes('--pull');
  const rate = Number(flag(args, '--rate') ?? 4);
  const port = await portOr(Number(flag(args, '--port') ?? 8080));
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say('chat-connector demo: starting Redis (if none answers), the 1C emulator and an emulated Telegram Bot API …');

  const adminPassword = randomBytes(9).toString('base64url');
  const stack = await startLocalStack({
    bots: [{ username: 'demo_shop_bot' }, { username: 'demo_support_bot' }],
    onec: { latency: { perCallMs: 15, perMessageMs: 0.2, newSessionMs: 40 } },
    httpPort: port,
    env: {
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: adminPassword,
      ONEC_MODE: pull ? 'pull' : 'push',
    },
  });
  const logger = createLogger({
    level: stack.config.logLevel,
    secrets: [stack.config.apiToken, adminPassword, ...stack.config.telegram.tokens],
  });

  const seen = new Set<string>();
  // Auto-replies reach 1C too, as the connector's own (`system`) messages in the chat; not counted as customers'.
  let systemSeen = 0;
  const arrived = (m: InboundMessage) => {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    const system = m.outgoing === true && m.sender.id === SYSTEM_SENDER.id;
    if (system) systemSeen++;
    const what = `${system ? '(auto-reply) ' : m.outgoing ? '(owner, from the phone) ' : ''}${describeMessage(m)}`;
    say(`[1C] ${m.chatId.padEnd(30)} #${String(m.seq).padEnd(3)} ${(system ? 'system' : (m.sender.name ?? '')).padEnd(16)} ${what}`);
  };
  const connector = await createConnector(stack.config, {
    logger,
    trustedKeysDir: stack.keysDir, // the demo's throwaway license key, trusted in code only
    // Push: printed when 1C answered POST /messages. Pull: printed when the 1C job stored it.
    inboundObserver: pull ? undefined : { delivered: (ms) => ms.forEach(arrived) },
    // The demo operators share the group "sales", so every new chat is queued for both.
    features: productFeatures({ defaultGroup: DEMO_GROUP }),
  });
  await connector.start();
  const job = pull
    ? new EmulatorPullPoller(stack.onec, {
        connectorUrl: () => connector.url,
        apiToken: stack.config.apiToken ?? '',
        pageSize: 100,
        waitS: 25,
        onStored: (type, items, results) => {
          items.forEach((m, i) => {
            if (type === 'message' && results[i]?.status !== 'rejected') arrived(m as unknown as InboundMessage);
          });
        },
      })
    : null;
  job?.start();
  const api = connector.url ?? stack.config.http.publicUrl;
  const token = stack.config.apiToken ?? '';
  say('');
  say(`Connector API      ${api}   (Authorization: Bearer ${token})`);
  say(`  readiness        ${api}/readyz`);
  say(`  licenses         curl -H "Authorization: Bearer ${token}" ${api}/api/v1/licenses`);
  say(`  accounts         curl -H "Authorization: Bearer ${token}" ${api}/api/v1/accounts`);
  say(`  queue dashboard  ${api}/admin/queues   (admin / ${adminPassword})`);
  say(`  metrics          ${api}/metrics`);
  say(`Operator panel     ${api}/panel`);
  for (const u of DEMO_USERS.filter((x) => DEMO_OPERATORS.includes(x.login))) {
    say(`  operator         ${u.login} / ${u.password}   (or PIN ${u.pin ?? '—'}; workstation user e.g. DEMO\\${u.id.replace(/^u-/, '')})`);
  }
  say(`1C emulator        ${stack.onec.url}   (what 1C received: ${new URL(stack.onec.url).origin}/_emulator/state)`);
  say(`Telegram Bot API   ${stack.telegram.apiRoot}   (emulated; bots ${stack.bots.map((b) => '@' + b.username).join(', ')})`);
  say(
    `Redis              ${stack.redis.url}${stack.redis.owned ? '   (started for the demo)' : ''}, key prefix ${stack.config.queuePrefix}`,
  );
  await configureDemoSettings(api, token, stack, say);
  say('');
  if (pull)
    say(`Pull mode          the emulated 1C job long-polls ${api}/api/v1/onec/updates and acks; the connector never calls 1C's /messages`);
  say('Simulated customers are writing; each line below is a message as 1C stored it (chat, seq, sender, content). Ctrl-C stops.');

  const customers = runSimulatedCustomers(stack, { ratePerSec: rate, rounds: once ? 1 : Infinity });
  say(
    `Telegram Business  a business account is connected to @${stack.bots[0].username}; answer its customer through the connection:\n` +
      `  curl -H "Authorization: Bearer ${token}" -H 'content-type: application/json' ${api}/api/v1/messages ` +
      `-d '{"id":"demo-biz-1","chatId":"${customers.businessChatKey}","text":"Ждём вас!","media":[],"replyTo":null,"operatorId":null}'`,
  );
  const replies = watchReplies(stack, say);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return code;
    stopping = true;
    customers.stop();
    clearInterval(replies);
    say('\nstopping …');
    await job?.stop();
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
    while (seen.size - systemSeen < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const ok = seen.size - systemSeen >= expected;
    if (!ok) say(`only ${seen.size - systemSeen} of ${expected} messages reached 1C within a minute`);
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

const DEMO_GROUP = 'sales';
/** Two operators of DEMO_USERS in DEMO_GROUP: Иванов (sales) and Сидоров (sales, support). */
const DEMO_OPERATORS = ['Иванов', 'Сидоров'];

/** Prints what the bots sent (operators' replies from the panel, auto-replies) as the customers' Telegram receives it. */
function watchReplies(stack: Awaited<ReturnType<typeof startLocalStack>>, say: (s: string) => void): NodeJS.Timeout {
  const printed = new Map<string, number>();
  const timer = setInterval(() => {
    for (const bot of stack.bots) {
      const sent = stack.telegram.sent(bot.token);
      for (const s of sent.slice(printed.get(bot.token) ?? 0)) {
        const what = s.text ?? s.caption ?? s.method;
        say(`[Telegram] @${bot.username} → chat ${s.chatId}: ${JSON.stringify(what)}${s.file ? ` (+ ${s.file.fileName ?? 'file'})` : ''}`);
      }
      printed.set(bot.token, sent.length);
    }
  }, 300);
  timer.unref();
  return timer;
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
