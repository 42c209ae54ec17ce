/**
 * Simulated customers for the demo: a few chats on the emulated Bot API writing a script of
 * mixed messages (text, photo with caption, reply, edit, location, contact, voice, a group
 * conversation, and a Telegram Business account connected to the shop bot, whose customer
 * writes and whose owner answers from the phone), paced at a steady rate. Everything goes through the emulator exactly as
 * Telegram would deliver it, so the connector under demo is the real one.
 */
import type { LocalStack } from '../infra/local-stack.ts';
import type { SimulatedChat } from '../emulators/telegram/index.ts';

export interface CustomersHandle {
  /** Resolves when the planned rounds are sent. */
  done: Promise<void>;
  /** Messages sent so far that should reach 1C. */
  sent(): number;
  /** The chat key of the demo's Telegram Business chat (answer it through the API). */
  businessChatKey: string;
  stop(): void;
}

const PNG_1PX = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f3d8d50000000049454e44ae426082',
  'hex',
);

type Step = (c: SimulatedChat, last: number) => number;

const SCRIPT: Step[] = [
  (c) => c.text('Здравствуйте! Хочу заказать доставку 📦').messageId,
  (c) => c.photo({ bytes: PNG_1PX, caption: 'Вот фото товара' }).messageId,
  (c, last) => c.text('Сколько это стоит?', { replyTo: last }).messageId,
  (c, last) => {
    c.edit(last, 'Сколько это стоит с доставкой?');
    return last;
  },
  (c) => c.location(55.7558, 37.6173).messageId,
  (c) => c.contact('+79991234567', 'Иван', { lastName: 'Петров' }).messageId,
  (c) => c.voice({ bytes: Buffer.alloc(2048, 7) }).messageId,
  (c) => c.text('Спасибо!').messageId,
];

export function runSimulatedCustomers(stack: LocalStack, opts: { ratePerSec: number; rounds: number }): CustomersHandle {
  const [shop, support] = stack.bots;
  const chats: SimulatedChat[] = [
    stack.telegram.chat(shop.token, { firstName: 'Иван', lastName: 'Петров', username: 'ivan_petrov' }),
    stack.telegram.chat(shop.token, { firstName: 'Maria', lastName: '🌸', username: 'maria' }),
    stack.telegram.chat((support ?? shop).token, { firstName: 'Алексей', username: 'alexey' }),
  ];
  const group = stack.telegram.group((support ?? shop).token, { title: 'Оптовики 🛒' });
  // A business account (the salon's own number) connected to the shop bot: its customers write
  // to the person, not to the bot; the owner also answers from the phone.
  const salon = stack.telegram.connectBusiness(shop.token, { firstName: 'Салон', lastName: '«Лето»' });
  const guest = stack.telegram.user({ firstName: 'Ольга', username: 'olga' });
  const bizChat = salon.customer(guest);
  let count = 0;
  let stopped = false;
  const interval = Math.max(10, Math.round(1000 / Math.max(0.1, opts.ratePerSec)));
  const last = new Map<SimulatedChat, number>();

  const done = (async () => {
    for (let round = 0; round < opts.rounds && !stopped; round++) {
      for (const step of SCRIPT) {
        for (const c of chats) {
          if (stopped) return;
          const before = count;
          last.set(c, step(c, last.get(c) ?? 0));
          count = before + 1;
          await new Promise((r) => setTimeout(r, interval));
        }
      }
      if (stopped) return;
      group.text(`Раунд ${round + 1}: есть ли скидки для опта?`);
      count++;
      await new Promise((r) => setTimeout(r, interval));
      bizChat.text(`Можно записаться на стрижку? (${round + 1})`);
      bizChat.text('Да, завтра в 11:00 свободно', { fromOwner: true });
      count += 2;
      await new Promise((r) => setTimeout(r, interval));
    }
  })();
  return {
    done,
    sent: () => count,
    businessChatKey: `tgb:${shop.username}:${salon.conn.owner.id}:${guest.id}`,
    stop: () => {
      stopped = true;
    },
  };
}
