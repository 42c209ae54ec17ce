/**
 * The demo's account settings, set through the settings API like an administrator would:
 * `demo_shop_bot` greets new customers; `demo_support_bot` is closed today (a holiday in
 * its working hours), so its chats get one out-of-hours reply each. The bots' replies are
 * printed as they reach the (emulated) Telegram.
 */
import type { LocalStack } from '../infra/local-stack.ts';
import type { SentRecord } from '../emulators/telegram/index.ts';

export async function configureDemoSettings(api: string, token: string, stack: LocalStack, say: (s: string) => void): Promise<void> {
  const today = new Date().toISOString().slice(0, 10);
  const day = [['09:00', '18:00']];
  const put = async (account: string, body: unknown): Promise<void> => {
    const res = await fetch(`${api}/api/v1/accounts/${account}/settings`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`the demo could not set the settings of ${account}: ${res.status} ${await res.text()}`);
  };
  await put('demo_shop_bot', { language: 'en', autoReplies: { greeting: 'Hello, {name}! An operator will answer shortly.' } });
  await put('demo_support_bot', {
    language: 'en',
    timeZone: 'UTC',
    workingHours: { mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day },
    holidays: [{ date: today, hours: [] }],
    autoReplies: { outOfHours: true },
  });
  say(
    `Settings           demo_shop_bot greets new chats; demo_support_bot is closed today (holiday ${today}): one out-of-hours reply per chat`,
  );
  const names = new Map(stack.bots.map((b) => [b.token, b.username]));
  stack.telegram.on('sent', (botToken: string, rec: SentRecord) => {
    say(`[bot] @${names.get(botToken) ?? '?'} → chat ${rec.chatId}: ${JSON.stringify(rec.text ?? rec.caption ?? rec.method)}`);
  });
}
