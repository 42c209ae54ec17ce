import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OnecEmulator } from '../../src/onec/emulator/index.ts';
import { OnecAuthError, OnecClient, OnecLicenseRefusedError, OnecRemoteError } from '../../src/onec/index.ts';
import { cookieOf, IVANOV, raw, SERVICE } from './onec-test-helpers.ts';

describe('1C client operator authorization', () => {
  let emu: OnecEmulator;
  let client: OnecClient;
  beforeEach(async () => {
    emu = new OnecEmulator({ licenseTotal: 2 });
    await emu.start();
    client = new OnecClient({ baseUrl: emu.url, user: SERVICE.login, password: SERVICE.password });
  });
  afterEach(async () => {
    await client.close();
    await emu.stop();
  });

  it('authorizes with the operator’s own Cyrillic credentials in a short session', async () => {
    const started: string[] = [];
    const finished: string[] = [];
    const op = await client.authorize(IVANOV, {
      onSessionStarted: (id) => {
        // Recorded before the session is used for the authorization itself.
        expect(emu.state().calls.auth).toBe(0);
        expect(emu.state().sessions.open).toBe(1);
        started.push(id);
      },
      onSessionFinished: (id) => {
        finished.push(id);
      },
    });
    expect(op).toEqual({ id: 'u-ivanov', name: 'Иванов И.И.', groups: ['sales'] });
    expect(started).toHaveLength(1);
    expect(finished).toEqual(started);
    expect(emu.state().sessions).toMatchObject({ open: 0, opened: 1 });
    expect(emu.state().auth.ok).toBe(1);
  });

  it('authorizes by PIN with the service user', async () => {
    expect(await client.authorize({ pin: '4321' })).toEqual({ id: 'u-sidorov', name: 'Сидоров П.П.', groups: ['sales', 'support'] });
    expect(emu.state().sessions.open).toBe(0);
  });

  it('finishes the session on a wrong PIN and reports invalid_credentials', async () => {
    const finished: string[] = [];
    const err = await client
      .authorize(
        { pin: '9999' },
        {
          onSessionFinished: (id) => {
            finished.push(id);
          },
        },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnecAuthError);
    expect((err as OnecAuthError).code).toBe('invalid_credentials');
    expect(finished).toHaveLength(1);
    expect(emu.state().sessions).toMatchObject({ open: 0, opened: 1 });
  });

  it('opens no session for a wrong password', async () => {
    const err = await client.authorize({ login: 'Иванов', password: 'не тот' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnecAuthError);
    expect((err as Error).message).not.toContain('не тот');
    expect(emu.state().sessions).toMatchObject({ open: 0, opened: 0 });
  });

  it('finishes the session when the 1C handler fails with 500', async () => {
    emu.failNext({ endpoint: 'auth', status: 500 });
    await expect(client.authorize(IVANOV)).rejects.toBeInstanceOf(OnecRemoteError);
    expect(emu.state().sessions).toMatchObject({ open: 0, opened: 1 });
  });

  it('finishes the session when the caller aborts during the call', async () => {
    const ac = new AbortController();
    const finished: string[] = [];
    const p = client.authorize(IVANOV, {
      signal: ac.signal,
      onSessionStarted: () => {
        emu.setLatency({ perCallMs: 300 });
        setTimeout(() => ac.abort(new Error('caller gave up')), 30);
      },
      onSessionFinished: (id) => {
        finished.push(id);
      },
    });
    await expect(p).rejects.toThrow('caller gave up');
    expect(emu.state().sessions.open).toBe(0);
    expect(finished).toHaveLength(1);
  });

  it('finishes the session when aborted before it is used', async () => {
    const ac = new AbortController();
    await expect(client.authorize(IVANOV, { signal: ac.signal, onSessionStarted: () => ac.abort() })).rejects.toThrow();
    expect(emu.state().sessions).toMatchObject({ open: 0, opened: 1 });
    expect(emu.state().calls.auth).toBe(0);
  });

  it('reports a license refusal when no 1C license is free', async () => {
    emu.takeLicenses(2);
    await expect(client.authorize(IVANOV)).rejects.toBeInstanceOf(OnecLicenseRefusedError);
    expect(emu.state().licenses.refused).toBe(1);
  });

  it('finishes an orphan session left by a crash', async () => {
    const id = cookieOf(await raw(`${emu.url}/licenses`, { creds: SERVICE, ibsession: 'start' }));
    expect(emu.state().sessions.open).toBe(1);
    expect(await client.finishOrphanSession(id)).toBe(true);
    expect(emu.state().sessions.open).toBe(0);
    expect(await client.finishOrphanSession(id)).toBe(false);
  });
});
