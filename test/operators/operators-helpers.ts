/**
 * A connector with the operators feature against the 1C emulator and real Redis, for the
 * operators and routing tests: `startOperators()` → app, feature, emulator, tokens.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createConnector, type Connector } from '../../src/connector.ts';
import type { NewInboundMessage } from '../../src/core/index.ts';
import { observed } from '../../src/features/feature-contract.ts';
import type { FeatureId } from '../../src/licensing/features.ts';
import { startLocalStack, type LocalStack } from '../../src/infra/local-stack.ts';
import type { OnecEmulatorOptions } from '../../src/onec/emulator/index.ts';
import { operatorsFeature, type OperatorsFeature, type OperatorsFeatureOptions } from '../../src/operators/operators-feature.ts';
import { cleanupPrefix } from '../helpers/redis.ts';

export const IVANOV = { login: 'Иванов', password: 'пароль1' };
export const PETROVA = { login: 'Петрова', password: 'пароль2' };

export interface OperatorsHarness {
  stack: LocalStack;
  connector: Connector;
  feature: OperatorsFeature;
  app: FastifyInstance;
  apiToken: string;
  prefix: string;
  /** Starts another connector (a second instance, or a restart) on the same stack. */
  another(opts?: OperatorsFeatureOptions): Promise<{ connector: Connector; feature: OperatorsFeature }>;
  /** Logs in with no API token (none is needed), from `address` (default 127.0.0.1). */
  login(body: Record<string, unknown>, opts?: { address?: string }): Promise<LightMyRequestResponse>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  onec?: OnecEmulatorOptions;
  env?: Record<string, string>;
  features?: Partial<Record<FeatureId, number>> | null;
  feature?: OperatorsFeatureOptions;
}

export async function startOperators(o: HarnessOptions = {}): Promise<OperatorsHarness> {
  const stack = await startLocalStack({
    onec: o.onec,
    features: o.features,
    env: { TELEGRAM_BOT_TOKENS: '', LOG_LEVEL: 'silent', ONEC_IDLE_FINISH_MS: '50', ...o.env },
  });
  const extra: Connector[] = [];
  const build = async (fo?: OperatorsFeatureOptions) => {
    let feature!: OperatorsFeature;
    const connector = await createConnector(stack.config, {
      trustedKeysDir: stack.keysDir,
      roles: ['http', 'inbound'],
      hostId: stack.hostId,
      lockMs: 2_000,
      sweepIntervalMs: 500,
      features: [
        observed(operatorsFeature({ laneSweepIntervalMs: 500, ...fo }), (f) => {
          feature = f;
        }),
      ],
    });
    await connector.start();
    return { connector, feature };
  };
  const { connector, feature } = await build(o.feature);
  const apiToken = stack.env.API_TOKEN;
  const app = connector.app as FastifyInstance;
  return {
    stack,
    connector,
    feature,
    app,
    apiToken,
    prefix: stack.config.queuePrefix,
    async another(fo) {
      const r = await build(fo);
      extra.push(r.connector);
      return r;
    },
    login: (body, lo) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/operators/login',
        payload: body,
        ...(lo?.address ? { remoteAddress: lo.address } : {}),
      }),
    async stop() {
      for (const c of extra) await c.stop().catch(() => undefined);
      await connector.stop();
      await cleanupPrefix(stack.config.queuePrefix);
      await stack.stop();
    },
  };
}

export function errorOf(res: LightMyRequestResponse): { code: string; message: string } {
  return res.json<{ error: { code: string; message: string } }>().error;
}

export function inbound(chat: string, n: number, text: string): NewInboundMessage {
  const chatId = `tg:test_bot:${chat}`;
  const at = new Date().toISOString();
  return {
    id: `${chatId}:${n}`,
    chatId,
    channel: 'telegram',
    account: 'test_bot',
    chat: { type: 'private', title: 'Клиент' },
    sender: { id: `tg:${chat}`, name: 'Клиент', username: null, phone: null },
    kind: 'text',
    text,
    media: [],
    replyTo: null,
    target: null,
    sentAt: at,
    receivedAt: at,
  };
}
