import { afterAll, beforeAll, expect, it } from 'vitest';
import { OnecEmulator } from '../../src/onec/emulator/index.ts';
import { raw, SERVICE } from './onec-test-helpers.ts';

let emu: OnecEmulator;
beforeAll(async () => {
  emu = new OnecEmulator();
  await emu.start();
});
afterAll(async () => {
  await emu.stop();
});

it('breaks one rule on request over the control endpoint, refuses an unknown fault, and keeps the contract after `none`', async () => {
  const set = (fault: string) => raw(`${emu.origin}/_emulator/contract-fault`, { method: 'POST', body: { fault } });
  expect((await set('no-such-fault')).status).toBe(400);
  expect((await set('licenses-shape')).status).toBe(200);
  const broken = await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' });
  expect(JSON.parse(broken.body)).toMatchObject({ total: '20' });
  expect((await set('none')).status).toBe(200);
  const kept = await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' });
  expect(JSON.parse(kept.body)).toMatchObject({ total: 20 });
  emu.expireSessions();
});
