export { TelegramEmulator } from './telegram-emulator.ts';
export { SimulatedChat, autoEntities } from './simulated-chat.ts';
export { SimulatedBusiness, SimulatedBusinessChat } from './emulator-business.ts';
export type { SimulatedUserInput, MessageOptions, FileOptions, SentUpdate } from './simulated-chat.ts';
export type {
  TelegramEmulatorOptions,
  RateLimits,
  AddBotOptions,
  SentRecord,
  BotStats,
  GetUpdatesCall,
  WebhookDelivery,
  FaultKind,
  TgObject,
  TgUser,
  TgChat,
} from './emulator-types.ts';
