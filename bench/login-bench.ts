/**
 * Operator login benchmark (issue "Operator chat login…"): 50 simultaneous logins of
 * distinct workstation users with exactly one free 1C license and a 1C that takes 200 ms
 * per call, through the real HTTP API of a connector with the operators feature.
 *
 * The emulator has no per-endpoint latency, so the 200 ms is per call: a login's short
 * session costs two calls (open with `GET /licenses`, then `POST /auth` that finishes it),
 * 400 ms of license time. The serial minimum is 50 × that: what 50 logins cost if
 * admitted back to back with no gap. Target: total ≤ 1.3 × the serial minimum.
 *
 * Reports: total ms, serial minimum ms, their ratio, peak 1C sessions (must be 1), 1C
 * sessions open at the end (must be 0), the longest time one login held a license, and
 * how many 1C license probes (`GET /licenses` asked for the semaphore size) were made.
 */
import { createConnector } from '../src/connector.ts';
import { observed } from '../src/features/feature-contract.ts';
import { startLocalStack } from '../src/infra/local-stack.ts';
import { operatorsFeature, type OperatorsFeature } from '../src/operators/operators-feature.ts';
import { cleanup } from './inbound-bench.ts';

const LOGINS = 50;
const CALL_MS = 200;

export async function benchLogins(): Promise<Record<string, number>> {
  const stack = await startLocalStack({
    onec: { licenseTotal: 1, latency: { perCallMs: CALL_MS } },
    features: { 42: 1, 48: LOGINS, 49: LOGINS },
    env: { TELEGRAM_BOT_TOKENS: '', LOG_LEVEL: 'silent', ONEC_AUTH_WAIT_MS: '120000' },
  });
  let feature!: OperatorsFeature;
  const connector = await createConnector(stack.config, {
    trustedKeysDir: stack.keysDir,
    roles: ['http'],
    hostId: stack.hostId,
    features: [
      observed(operatorsFeature(), (f) => {
        feature = f;
      }),
    ],
  });
  await connector.start();
  try {
    const url = `${connector.url}/api/v1/operators/login`;
    const headers = { authorization: `Bearer ${stack.env.API_TOKEN}`, 'content-type': 'application/json' };
    const one = (i: number) =>
      fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ workstationUser: `CORP\\bench${i}`, client: '1c', login: 'Иванов', password: 'пароль1' }),
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });

    const t0 = performance.now();
    const statuses = await Promise.all(Array.from({ length: LOGINS }, (_, i) => one(i)));
    const totalMs = performance.now() - t0;
    const st = stack.onec.state();
    const serialMinMs = LOGINS * 2 * CALL_MS;
    return {
      logins: LOGINS,
      succeeded: statuses.filter((s) => s === 200).length,
      totalMs: Math.round(totalMs),
      serialMinMs,
      ratioToSerialMin: Math.round((totalMs / serialMinMs) * 1000) / 1000,
      peakOnecSessions: st.sessions.peakOpen,
      onecSessionsOpenAtEnd: st.sessions.open,
      maxLicenseHeldMs: feature.login.stats.maxLicenseHeldMs,
      meanLicenseHeldMs: Math.round(feature.login.stats.totalLicenseHeldMs / Math.max(1, feature.login.stats.ok)),
      licenseProbes: feature.admission.probes,
      licensesRefused: st.licenses.refused,
    };
  } finally {
    await connector.stop();
    await cleanup(stack.config.queuePrefix);
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchLogins().then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
