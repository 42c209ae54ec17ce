export { createTelegramConnector, type TelegramConnector, type TelegramConnectorOptions } from './telegram-connector.ts';
export {
  normalizeUpdate,
  updateIdOf,
  telegramChatKey,
  type NormalizeResult,
  type NormalizeOptions,
  type PendingMedia,
} from './inbound-normalize.ts';
export { TelegramPoller, ALLOWED_UPDATES, botIdOf, type TelegramPollerOptions } from './inbound-poller.ts';
export {
  TelegramWebhookRunner,
  secretsMatch,
  webhookPath,
  type TelegramWebhookRunnerOptions,
  type WebhookAnswer,
} from './inbound-webhook.ts';
export { TelegramSender, inferMediaKind, nativeMessageId, type TelegramSenderOptions } from './outbound-send.ts';
export { splitText, TELEGRAM_TEXT_LIMIT, TELEGRAM_CAPTION_LIMIT } from './outbound-split.ts';
export { classifyTelegramError } from './outbound-errors.ts';
