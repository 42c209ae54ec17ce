/**
 * `chat-connector telegram login <account>`: builds just what the login needs — the account's
 * TDLib runner (its database under TELEGRAM_USER_DATA_DIR) and the inbound pipeline as the sink
 * for messages that arrive meanwhile (stored, delivered later by the running connector), and
 * asks at the terminal. Refuses while a connector instance holds the account: one TDLib
 * database must not be opened twice.
 */
import { createInterface } from 'node:readline';
import type { Config } from '../config/config.ts';
import { accountHolder, interactiveLogger } from './interactive-cli.ts';
import { FileMediaStore } from '../media/file-media-store.ts';
import { InboundPipeline } from '../lanes/inbound-pipeline.js';
import { createRedis, redisOptions } from '../redis/redis-connection.js';
import { SettingsStore } from '../settings/settings-store.ts';
import { wireTelegramUsers } from '../telegram-user-wiring.ts';
import { runTelegramCommand } from './telegram-command.ts';

/** One question at the terminal; a secret answer is not echoed. */
function ask(question: string, secret: boolean): Promise<string | null> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
    let answered = false;
    if (secret && process.stdin.isTTY) {
      // readline echoes through this hook; a password prompt shows the question only.
      const out = rl as unknown as { _writeToOutput(s: string): void };
      out._writeToOutput = (s: string) => {
        if (s.includes(question)) process.stdout.write(question);
      };
    }
    rl.question(question, (a) => {
      answered = true;
      if (secret) process.stdout.write('\n');
      rl.close();
      resolve(a);
    });
    rl.on('close', () => {
      if (!answered) resolve(null);
    });
  });
}

export async function runTelegramCli(args: string[], config: Readonly<Config>): Promise<number> {
  const logger = interactiveLogger(config);
  const redis = createRedis({ url: config.redis, name: 'chat-connector-cli' });
  try {
    const account = args[1];
    if (args[0] === 'login' && account) {
      const holder = await accountHolder(redis, config, `tgu:${account}`);
      if (holder) {
        process.stderr.write(
          `Telegram user account "${account}" is run by the connector (${holder}); log it in there: POST /api/v1/telegram/${account}/login.\n`,
        );
        return 1;
      }
    }
    const media = new FileMediaStore({ dir: config.mediaDir, maxBytes: config.mediaMaxBytes, publicUrl: config.http.publicUrl });
    // Ingest only (no workers here): messages wait in the queue for the connector.
    const pipeline = new InboundPipeline({
      redis,
      bullConnection: redisOptions(config.redis),
      prefix: config.queuePrefix,
      deliverer: {
        deliverMessages: async () => {
          throw new Error('not delivering from the CLI');
        },
      },
    });
    const settings = new SettingsStore({ redis, prefix: config.queuePrefix });
    const wired = wireTelegramUsers({
      config,
      redis,
      media,
      statusSink: {
        report: async () => {
          throw new Error('receipts are not reported from the CLI');
        },
      },
      logger,
      chatType: (k) => pipeline.chatType(k),
      // The CLI only logs in: it sends nothing, and notes of what arrives meanwhile follow the settings.
      mayWriteFirst: async () => false,
      language: async (account) => (await settings.account(account)).language,
    });
    try {
      return await runTelegramCommand(args, {
        runner: (a) => wired?.connector.runner(a),
        sink: pipeline,
        ask,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    } finally {
      await pipeline.close();
    }
  } finally {
    redis.disconnect();
  }
}
