/**
 * `chat-connector onec-emulator [--port N] [--licenses N] [--session-max-age S]
 *  [--latency-call MS] [--latency-message MS] [--latency-new-session MS] [--users FILE.json] [--lang ru|en]
 *  [--contract-fault NAME]`
 * Runs the 1C emulator alone until SIGINT/SIGTERM. For tests and demos only: the control
 * endpoints under /_emulator/* need no authentication.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { OnecEmulator } from './onec-emulator.ts';
import { DEMO_USERS, type EmulatorUser } from './emulator-types.ts';
import { CONTRACT_FAULT_NAMES, CONTRACT_FAULTS, isContractFault } from './emulator-contract-faults.ts';

function num(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number not below ${min}, got "${v}"`);
  return n;
}

function checkUsers(value: unknown, file: string): EmulatorUser[] {
  if (!Array.isArray(value)) throw new Error(`${file} must hold a JSON array of users`);
  return value.map((u: unknown, i) => {
    const o = (u ?? {}) as Record<string, unknown>;
    for (const k of ['login', 'password', 'id', 'name'] as const) {
      if (typeof o[k] !== 'string') throw new Error(`${file}: user ${i} needs a string "${k}"`);
    }
    if (o.groups !== undefined && !(Array.isArray(o.groups) && o.groups.every((g) => typeof g === 'string'))) {
      throw new Error(`${file}: user ${i} "groups" must be an array of strings`);
    }
    if (o.pin !== undefined && (typeof o.pin !== 'string' || !/^\d{4}$/.test(o.pin)))
      throw new Error(`${file}: user ${i} "pin" must be 4 digits`);
    return {
      login: o.login as string,
      password: o.password as string,
      id: o.id as string,
      name: o.name as string,
      groups: o.groups ?? [],
      pin: o.pin,
      serviceRights: o.serviceRights === undefined ? undefined : o.serviceRights !== false,
    };
  });
}

export async function runOnecEmulatorCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      licenses: { type: 'string' },
      'session-max-age': { type: 'string' },
      'latency-call': { type: 'string' },
      'latency-message': { type: 'string' },
      'latency-new-session': { type: 'string' },
      users: { type: 'string' },
      lang: { type: 'string' },
      host: { type: 'string' },
      'contract-fault': { type: 'string' },
    },
    strict: true,
  });
  const lang = values.lang ?? 'ru';
  if (lang !== 'ru' && lang !== 'en') throw new Error(`--lang must be ru or en, got "${lang}"`);
  const fault = values['contract-fault'] ?? 'none';
  if (!isContractFault(fault)) throw new Error(`--contract-fault must be one of ${CONTRACT_FAULT_NAMES.join(', ')}, got "${fault}"`);
  const users = values.users ? checkUsers(JSON.parse(await readFile(values.users, 'utf8')), values.users) : undefined;
  const emulator = new OnecEmulator({
    port: num('port', values.port, 0) ?? 8081,
    host: values.host ?? '127.0.0.1',
    licenseTotal: num('licenses', values.licenses, 0),
    sessionMaxAgeS: num('session-max-age', values['session-max-age'], 1),
    language: lang,
    users,
    contractFault: fault,
    latency: {
      perCallMs: num('latency-call', values['latency-call'], 0),
      perMessageMs: num('latency-message', values['latency-message'], 0),
      newSessionMs: num('latency-new-session', values['latency-new-session'], 0),
    },
  });
  await emulator.start();
  const shown = users ?? DEMO_USERS;
  const lines = [
    `1C emulator listening: ONEC_BASE_URL=${emulator.url}`,
    `inspection: ${emulator.origin}/_emulator/state (control endpoints under /_emulator/* have no auth: test/demo use only)`,
    `users (passwords are in ${values.users ?? 'DEMO_USERS, src/onec/emulator/emulator-types.ts'}):`,
    ...shown.map(
      (u) =>
        `  ${u.login} — ${u.name}${u.groups.length ? ` [${u.groups.join(', ')}]` : ''}${u.pin ? ', has a PIN' : ''}${u.serviceRights === false ? ', no service rights' : ''}`,
    ),
    ...(fault === 'none' ? [] : [`CONTRACT BROKEN ON PURPOSE (--contract-fault ${fault}): ${CONTRACT_FAULTS[fault]}`]),
    'press Ctrl+C to stop',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.stop();
}
