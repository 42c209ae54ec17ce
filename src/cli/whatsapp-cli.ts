/**
 * `chat-connector whatsapp pair <account> [--phone N]`: builds just what pairing needs —
 * the account's runner with its Redis auth state, and the inbound pipeline as the sink for
 * messages that arrive while pairing (stored, delivered later by the running connector).
 * Refuses while another connector instance holds the account: two sockets for one linked
 * device replace each other.
 */
import type { Config } from '../config/config.ts';
import { accountHolder, interactiveLogger } from './interactive-cli.ts';
import { createWhatsappConnector } from '../channels/whatsapp/whatsapp-connector.ts';
import { FileMediaStore } from '../media/file-media-store.ts';
import { InboundPipeline } from '../lanes/inbound-pipeline.js';
import { bullConnectionFor, createRedis } from '../redis/redis-connection.js';
import { runWhatsappCommand } from './whatsapp-command.ts';

export async function runWhatsappCli(args: string[], config: Readonly<Config>): Promise<number> {
  const logger = interactiveLogger(config);
  const redis = createRedis({ url: config.redis, name: 'chat-connector-cli' });
  try {
    const account = args[1];
    if (args[0] === 'pair' && account) {
      const holder = await accountHolder(redis, config, `wa:${account}`);
      if (holder) {
        process.stderr.write(
          `WhatsApp account "${account}" is connected by the running connector (${holder}); pair it there: GET /api/v1/whatsapp/${account}/qr or POST /api/v1/whatsapp/${account}/pairing-code.\n`,
        );
        return 1;
      }
    }
    const media = new FileMediaStore({ dir: config.mediaDir, maxBytes: config.mediaMaxBytes, publicUrl: config.http.publicUrl });
    const wa = createWhatsappConnector({
      accounts: config.whatsapp.accounts,
      redis,
      prefix: config.queuePrefix,
      mediaStore: media,
      logger,
      minIntervalMs: config.whatsapp.minIntervalMs,
      fetchVersion: true,
      version: config.whatsapp.version,
    });
    // Ingest only (no workers here): messages wait in the queue for the connector.
    const pipeline = new InboundPipeline({
      redis,
      bullConnection: bullConnectionFor(config.redis, redis),
      prefix: config.queuePrefix,
      shards: config.queueShards,
      deliverer: {
        deliverMessages: async () => {
          throw new Error('not delivering from the CLI');
        },
      },
    });
    try {
      return await runWhatsappCommand(args, {
        runner: (a) => wa.runner(a),
        sink: pipeline,
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
