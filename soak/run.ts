/**
 * `npm run soak -- --minutes N [--seed S] [--rate R] [--keep]`: the whole system under
 * load and faults for N minutes, with the invariants checked every couple of seconds and
 * at the end. Exits 0 with a JSON summary when every invariant held; exits 1 on the first
 * broken one, printing the seed and the command that replays its fault schedule.
 *
 * Parts: soak-redis.ts (own Redis, AOF), instances.ts (two `chat-connector start`
 * children), customers.ts (Telegram and WhatsApp customers), replies.ts (outbound API),
 * operators.ts (logins), faults.ts (the seeded fault schedule), checks.ts (invariants).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../src/infra/embedded-redis.ts';
import { startLocalStack, type LocalStack } from '../src/infra/local-stack.ts';
import { SeatManager } from '../src/licensing/seats.ts';
import { InboundPipeline } from '../src/lanes/inbound-pipeline.js';
import { OrderedLane } from '../src/lanes/ordered-lane.js';
import { createRedis } from '../src/redis/redis-connection.js';
import { Checks } from './checks.ts';
import { SoakPullJob } from './pull-job.ts';
import { Customers } from './customers.ts';
import { Faults } from './faults.ts';
import { ConnectorInstance, type InstanceEvent } from './instances.ts';
import { Operators } from './operators.ts';
import { Prng, sleep } from './prng.ts';
import { Replies } from './replies.ts';
import { SoakRedis } from './soak-redis.ts';
import { RR_CAP, RR_GROUP, writeSoakSettings } from './settings.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    minutes: { type: 'string', default: '2' },
    seed: { type: 'string' },
    rate: { type: 'string', default: '6' },
    keep: { type: 'boolean', default: false },
    pull: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const rate = Number(values.rate);
if (!Number.isFinite(minutes) || minutes <= 0 || !Number.isInteger(seed) || !Number.isFinite(rate) || rate <= 0) {
  process.stderr.write('usage: npm run soak -- --minutes N [--seed S] [--rate R] [--keep] [--pull]\n');
  process.exit(2);
}
const pull = values.pull;
const replay = `npm run soak -- --minutes ${minutes} --seed ${seed}${values.rate !== '6' ? ` --rate ${rate}` : ''}${pull ? ' --pull' : ''}`;

const MAX_SESSIONS = 1;
const SESSION_MAX_AGE_S = 3;
const ONEC_TIMEOUT_MS = 2000;
const SEAT_TTL_S = 10;
const RSS_LIMIT_MB = 400;
const DRAIN_BOUND_MS = 150_000;
const BASE_LATENCY = { perCallMs: 5, perMessageMs: 0.2, newSessionMs: 20 };

const t0 = Date.now();
const say = (line: string) => process.stdout.write(`[soak ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
const root = new Prng(seed);
const dir = mkdtempSync(join(tmpdir(), 'chat-connector-soak-'));
mkdirSync(join(dir, 'redis'));

let stack: LocalStack | null = null;
let redis: SoakRedis | null = null;
const instances: ConnectorInstance[] = [];
const events: InstanceEvent[] = [];
let failing = false;
const timers: NodeJS.Timeout[] = [];

/** The first broken invariant: print it, tear everything down (keeping the logs), exit 1. */
function fail(message: string): void {
  if (failing) return;
  failing = true;
  process.stdout.write(`\nINVARIANT BROKEN: ${message}\nseed ${seed}; replay with: ${replay}\nlogs kept in ${dir}\n`);
  void teardown(true).finally(() => process.exit(1));
}

async function teardown(keep: boolean): Promise<void> {
  for (const t of timers) clearInterval(t);
  for (const i of instances) {
    if (failing) await i.kill9().catch(() => undefined);
    i.close();
  }
  await stack?.stop().catch(() => undefined);
  await redis?.stop().catch(() => undefined);
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stdout.write(`\n${sig}: stopping the soak (seed ${seed}); logs kept in ${dir}\n`);
    failing = true;
    void teardown(true).finally(() => process.exit(130));
  });
}
process.on('unhandledRejection', (err) =>
  fail(`unexpected error in the soak itself: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
);

say(`seed ${seed}, ${minutes} min, ${rate} msg/s${pull ? ', ONEC_MODE=pull' : ''}; dir ${dir}`);
redis = await SoakRedis.start(join(dir, 'redis'));
const bots = [{ username: 'soak_shop_bot' }, { username: 'soak_help_bot' }, { username: 'soak_news_bot' }];
const adminPassword = randomBytes(12).toString('base64url');
stack = await startLocalStack({
  redisUrl: redis.url,
  bots,
  onec: { sessionMaxAgeS: SESSION_MAX_AGE_S, licenseTotal: 8, latency: BASE_LATENCY },
  features: { 42: 1, 48: 10, 49: 10 },
  env: {
    LANE_LOCK_MS: '1500',
    LANE_SWEEP_MS: '500',
    ONEC_SESSION_MAX_AGE_S: String(SESSION_MAX_AGE_S),
    ONEC_IDLE_FINISH_MS: '300',
    ONEC_MAX_SESSIONS: String(MAX_SESSIONS),
    ONEC_TIMEOUT_MS: String(ONEC_TIMEOUT_MS),
    ONEC_AUTH_WAIT_MS: '5000',
    SEAT_TTL_S: String(SEAT_TTL_S),
    ADMIN_USER: 'soak',
    ADMIN_PASSWORD: adminPassword,
    // info: the instances say "connector started" at info level (the start signal).
    LOG_LEVEL: 'info',
    // --pull: 1C's job fetches from the connector (SoakPullJob); faults stay the same.
    ONEC_MODE: pull ? 'pull' : 'push',
    // Auto-replies (a greeting on one bot, always closed on another) and round robin (settings.ts).
    ...writeSoakSettings(dir),
  },
});
const { onec, telegram, config } = stack;
telegram.setLimits({ enabled: true });
const licensed = { 42: 1, 48: 10, 49: 10 };
const writeLicense = (expired: boolean) => {
  if (!stack) return;
  if (expired)
    stack.writeLicense(licensed, {
      issuedAt: new Date(Date.now() - 86_400_000 * 2).toISOString(),
      expiresAt: new Date(Date.now() - 86_400_000).toISOString(),
    });
  else stack.writeLicense(licensed);
};

// This process's own Redis clients: the WhatsApp ingest seam, seats and lane inspection.
const own = createRedis({ url: redis.url, name: 'soak' });
own.on('error', () => undefined);
const bull = { url: redis.url };
const noSink = {
  deliver: async () => {
    throw new Error('the soak process never delivers');
  },
};
const whatsappSink = new InboundPipeline({
  redis: own,
  bullConnection: bull,
  prefix: config.queuePrefix,
  deliverer: {
    deliverMessages: async () => {
      throw new Error('never');
    },
  },
});
const lanes = [
  whatsappSink.lane,
  ...['outbound', 'statuses', 'routing', 'operators'].map(
    (name) => new OrderedLane({ name, redis: own, bullConnection: bull, prefix: config.queuePrefix, sink: noSink }),
  ),
];
const seats = new SeatManager({ redis: own, prefix: config.queuePrefix, ttlS: SEAT_TTL_S });

for (const name of ['A', 'B'])
  instances.push(new ConnectorInstance(name, await freePort(), stack.env, dir, events, stack.packageCopy().bin));
await Promise.all(instances.map((i) => i.start(60_000))).catch((err: unknown) => {
  fail(`start: ${err instanceof Error ? err.message : String(err)}`);
});
if (failing) await new Promise(() => undefined);
say(`instances up: ${instances.map((i) => `${i.name} ${i.url}`).join(', ')}; Redis ${redis.url} (AOF); 1C ${onec.url}`);

const job = pull ? new SoakPullJob({ onec, instances, apiToken: config.apiToken ?? '', prng: root.fork(5), log: (l) => say(l) }) : null;
const logWaiting = () => own.xlen(`${config.queuePrefix}:updates:stream`);

const customers = new Customers({
  telegram,
  bots: stack.bots,
  sink: whatsappSink,
  prng: root.fork(1),
  rate,
  privateChatsPerBot: 6,
  whatsappChats: 6,
  onFatal: fail,
});
const urls = () => instances.map((i) => i.url);
const replies = new Replies(customers.chats, {
  instances: urls,
  apiToken: config.apiToken ?? '',
  prng: root.fork(2),
  rate: 1.5,
  known: (c) => (onec.state().messages.byChat[c.key]?.length ?? 0) > 0,
  operatorIds: ['u-ivanov', 'u-petrova', 'u-sidorov'],
  onFatal: fail,
});
let faults: Faults | null = null;
const operators = new Operators({
  instances: urls,
  apiToken: config.apiToken ?? '',
  prng: root.fork(3),
  slots: 5,
  lostSessionGraceMs: SESSION_MAX_AGE_S * 1000 + 3000,
  seatTtlMs: SEAT_TTL_S * 1000,
  licenseOff: () => Date.now() < (faults?.licenseOffUntil ?? 0),
  onFatal: fail,
});
faults = new Faults({
  prng: root.fork(4),
  instances,
  redis,
  onec,
  telegram,
  bots: stack.bots,
  baseLatency: BASE_LATENCY,
  writeLicense,
  onecTimeoutMs: ONEC_TIMEOUT_MS,
  log: say,
  onFatal: fail,
});
const checks = new Checks({
  onec,
  telegram,
  chats: customers.chats,
  replies: replies.tracks,
  operators,
  instances,
  maxSessions: MAX_SESSIONS,
  rssLimitMb: RSS_LIMIT_MB,
  kill9Times: () => events.filter((e) => e.kind === 'kill9').map((e) => e.at),
  redisOutages: () => (redis?.downAt ?? []).map((d, i): [number, number] => [d, redis?.upAt[i] ?? Number.POSITIVE_INFINITY]),
  t0,
  fail,
});

const guard = (what: string, fn: () => void) => () => {
  if (failing) return;
  try {
    fn();
  } catch (err) {
    fail(`${what} threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
};
timers.push(
  setInterval(
    guard('session sampling', () => checks.sampleSessions()),
    250,
  ),
);
timers.push(
  setInterval(
    guard('memory sampling', () => checks.sampleMemory()),
    1000,
  ),
);
timers.push(
  setInterval(
    guard('invariant checks', () => {
      checks.checkInbound();
      checks.checkOutbound();
    }),
    2000,
  ),
);
timers.push(
  setInterval(
    guard('progress', () => {
      const f = checks.figures;
      say(
        `in ${f.inbound.storedInOrder}/${f.inbound.sent} stored · out ${f.outbound.delivered}/${f.outbound.submitted} + auto ${f.outbound.autoRepliesSent} (1C ${f.outbound.autoRepliesIn1c}) · rr ${f.routing.roundRobinAssignments} · logins ${operators.stats.loginsOk} (${operators.loggedIn()} in) · faults ${Object.values(faults?.counts ?? {}).reduce((s, n) => s + (n ?? 0), 0)} · sessions peak ${f.sessions.peakOpen} · RSS ${instances.map((i) => `${i.name} ${Math.round(i.lastRssMb)}`).join(' ')} MB`,
      );
    }),
    10_000,
  ),
);

customers.start();
replies.start();
operators.start();
faults.start(4000);
job?.start();
await sleep(minutes * 60_000);
if (failing) await new Promise(() => undefined);

// ---- the end: stop faults and load, let everything drain, check the end invariants ----
say('load and faults stop; draining');
await faults.stop();
await customers.stop();
await replies.stop();
await operators.stop();
for (const i of instances) if (!i.running) await i.start(60_000);
await job?.calm();
const hb = setInterval(() => {
  void operators.heartbeatAll();
}, 2000);
timers.push(hb);
const drainStart = Date.now();
const pendingAll = async () => (await Promise.all(lanes.map((l) => l.pendingCount()))).reduce((s, n) => s + n, 0);
const statusesAt1c = () => {
  const byId = onec.state().statuses.byId;
  // auto-replies are outbound messages like any reply: their `sent` reaches 1C too
  return replies.tracks.every(
    (t) => t.ids.every((id) => byId[id]?.includes('sent')) && t.chat.autos.every((id) => byId[id]?.includes('sent')),
  );
};
for (;;) {
  if (failing) await new Promise(() => undefined);
  const done =
    checks.inboundComplete() &&
    checks.outboundComplete() &&
    checks.autoRepliesComplete() &&
    statusesAt1c() &&
    (await pendingAll()) === 0 &&
    (!job || (await logWaiting()) === 0);
  if (done) break;
  if (Date.now() - drainStart > DRAIN_BOUND_MS) {
    const lanesLeft = await Promise.all(lanes.map(async (l) => `${l.name}=${await l.pendingCount()}`));
    fail(
      `drain: not done within ${DRAIN_BOUND_MS / 1000} s — ${job ? `update log ${await logWaiting()} waiting, ` : ''}inbound ${checks.figures.inbound.storedInOrder}/${checks.figures.inbound.expectedStored}, outbound ${checks.figures.outbound.delivered}/${checks.figures.outbound.submitted}, auto-replies in 1C ${checks.figures.outbound.autoRepliesIn1c} / sent ${checks.figures.outbound.autoRepliesSent} / due ${checks.figures.outbound.autoRepliesExpected}, statuses at 1C ${statusesAt1c()}, pending ${lanesLeft.join(' ')}`,
    );
    await new Promise(() => undefined);
  }
  await sleep(500);
}
const drainSeconds = (Date.now() - drainStart) / 1000;
say(`drained in ${drainSeconds.toFixed(1)} s`);

// Queues: nothing pending; the dead letters are exactly the messages 1C rejected, each with its reason.
const dead = await whatsappSink.lane.deadQueue.getFailed(0, 10_000);
const deadIds = new Set(dead.map((j) => (j.data as { id?: string }).id));
const rejectIds = customers.chats.flatMap((c) => c.rejectIds);
const missingDead = rejectIds.filter((id) => !deadIds.has(id));
if (missingDead.length)
  fail(`queues: ${missingDead.length} rejected message(s) are not in the inbound-dead failed list (e.g. ${missingDead[0]})`);
const noReason = dead.filter((j) => !j.failedReason);
if (noReason.length) fail(`queues: ${noReason.length} failed job(s) have no reason`);
const otherDead = (await Promise.all(lanes.slice(1).map((l) => l.deadQueue.getFailedCount()))).reduce((s, n) => s + n, 0);

// Sessions: none left open once the connectors are idle.
const sessionsDeadline = Date.now() + 15_000;
while (onec.state().sessions.open > 0 && Date.now() < sessionsDeadline) await sleep(200);
const openAtEnd = onec.state().sessions.open;
if (openAtEnd !== 0) fail(`sessions: ${openAtEnd} 1C session(s) still open 15 s after the drain`);

// Seats: equal to the operators logged in (orphans of lost logins lapse after SEAT_TTL_S).
const usedSeats = async () => (await seats.usage(48)) + (await seats.usage(49));
const seatDeadline = Date.now() + (SEAT_TTL_S + 10) * 1000;
while ((await usedSeats()) !== operators.loggedIn() && Date.now() < seatDeadline) await sleep(500);
const seatsLoggedIn = { seats: await usedSeats(), loggedIn: operators.loggedIn() };
if (seatsLoggedIn.seats !== seatsLoggedIn.loggedIn)
  fail(`seats: ${seatsLoggedIn.seats} seats in Redis for ${seatsLoggedIn.loggedIn} operators logged in`);
clearInterval(hb);
await operators.logoutAll();
const seatsAfterLogout = await usedSeats();
if (seatsAfterLogout !== 0) fail(`seats: ${seatsAfterLogout} seats still held after every operator logged out`);
checks.sampleMemory();
if (failing) await new Promise(() => undefined);

for (const t of timers) clearInterval(t);
await job?.stop();
const stopCodes: Record<string, number | string> = {};
for (const i of instances) stopCodes[i.name] = await i.terminate();
const st = onec.state();
const summary = {
  ok: true,
  seed,
  minutes,
  replay,
  rate,
  wallSeconds: Math.round((Date.now() - t0) / 1000),
  drainSeconds: Math.round(drainSeconds * 10) / 10,
  inbound: {
    ...checks.figures.inbound,
    byChannel: { telegram: customers.stats.telegram, whatsapp: customers.stats.whatsapp },
    customers: customers.stats,
  },
  outbound: {
    ...checks.figures.outbound,
    api: replies.stats,
    statusesSentAt1c: replies.tracks.reduce((s, t) => s + t.ids.length, 0),
    statusDuplicateAnswers: st.statuses.duplicates.count,
  },
  sessions: {
    ...checks.figures.sessions,
    openAtEnd,
    maxSessions: MAX_SESSIONS,
    opened: st.sessions.opened,
    expired: st.sessions.expired,
    licenseRefusals: st.licenses.refused,
    maxLoginsInFlight: operators.stats.maxLoginsInFlight,
  },
  seats: { ...seatsLoggedIn, afterLogout: seatsAfterLogout },
  routing: { ...checks.figures.routing, group: RR_GROUP, cap: RR_CAP, duplicateAnswers: st.routing.duplicates.count },
  operators: operators.stats,
  queues: {
    pending: await pendingAll(),
    inboundDeadFailed: dead.length,
    inboundDeadWithReason: dead.length - noReason.length,
    otherDeadFailed: otherDead,
  },
  memory: { ...checks.figures.memory, limitMb: RSS_LIMIT_MB },
  faults: { ...faults.counts, redisRestarts: redis.restarts, instanceStarts: Object.fromEntries(instances.map((i) => [i.name, i.starts])) },
  sigtermExitCodes: faults.sigtermExitCodes,
  finalStopExitCodes: stopCodes,
  onecCalls: st.calls,
  ...(job ? { pull: { ...job.poller.stats, pauses: job.pauses, updatesWaitingAtEnd: await logWaiting() } } : {}),
};
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
for (const l of lanes) await l.close().catch(() => undefined);
own.disconnect();
await teardown(values.keep);
process.exit(0);
