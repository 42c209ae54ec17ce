/**
 * The texts the connector writes by itself into a chat, as `service` messages, for what it
 * cannot render as a message of its own kind: content of a type it does not support, a
 * message WhatsApp could not decrypt, a group event, two chats merged. They follow the
 * account's `language` (account settings, `ru` by default): channels import only core, so
 * the runner asks an `AccountLanguage` (installed by the composition root from the
 * settings) and hands the table of that language to its pure normalizer.
 */

/** The languages of the connector's own texts (account settings `language`). */
export type Language = 'ru' | 'en';

export const DEFAULT_LANGUAGE: Language = 'ru';

/** The account's current language; asked per update (a settings change applies at once). */
export type AccountLanguage = (account: string) => Promise<Language>;

/** Why a WhatsApp poll vote could not be read. */
export type PollVoteProblem = 'no_key' | 'unknown_poll' | 'no_secret' | 'decrypt_failed';

export interface ServiceTexts {
  /** A message of a kind the connector cannot pass on (`type`: the messenger's name of it). */
  unsupported(type: string): string;
  empty: string;
  undecryptable: string;
  /** A WhatsApp poll vote the connector could not decrypt or match to its poll. */
  pollVoteUnreadable(reason: PollVoteProblem, detail?: string): string;
  /** Two chat keys of one person (a WhatsApp number and its LID) became one. */
  chatsMerged(from: string): string;
  /** Telegram group events. */
  someone: string;
  joined(names: string): string;
  left(name: string): string;
  titleChanged(title: string): string;
  photoChanged: string;
  photoRemoved: string;
  groupCreated: string;
  supergroupCreated: string;
  channelCreated: string;
  pinned(text: string | null): string;
  migratedTo(id: string): string;
  migratedFrom(id: string): string;
  autoDeleteChanged: string;
  videoChatStarted: string;
  videoChatEnded: string;
  topicCreated(name: string): string;
  writeAccessAllowed: string;
}

const EN: ServiceTexts = {
  unsupported: (type) => `The customer sent a message of a type the connector does not support (${type})`,
  empty: 'An empty message',
  undecryptable: 'A message from the customer could not be decrypted (WhatsApp session out of sync); ask the customer to send it again.',
  pollVoteUnreadable: (reason, detail) =>
    `A poll vote arrived but could not be read: ${
      {
        no_key: 'the vote carries no poll key',
        unknown_poll: 'the poll is not known to the connector (expired, or created on the phone)',
        no_secret: 'the poll has no encryption secret',
        decrypt_failed: `the vote could not be decrypted (${detail ?? '?'})`,
      }[reason]
    }.`,
  chatsMerged: (from) => `Chats merged: ${from} is the same person as this chat; its messages continue here.`,
  someone: 'someone',
  joined: (names) => `${names} joined the chat`,
  left: (name) => `${name} left the chat`,
  titleChanged: (title) => `The chat title was changed to "${title}"`,
  photoChanged: 'The chat photo was changed',
  photoRemoved: 'The chat photo was removed',
  groupCreated: 'The group was created',
  supergroupCreated: 'The supergroup was created',
  channelCreated: 'The channel was created',
  pinned: (text) => (text ? `A message was pinned: "${text}"` : 'A message was pinned'),
  migratedTo: (id) => `The group was upgraded to a supergroup (new id ${id})`,
  migratedFrom: (id) => `The supergroup was upgraded from a group (old id ${id})`,
  autoDeleteChanged: 'The auto-delete timer was changed',
  videoChatStarted: 'A video chat started',
  videoChatEnded: 'A video chat ended',
  topicCreated: (name) => `A topic was created: "${name}"`,
  writeAccessAllowed: 'The user allowed the bot to write',
};

const RU: ServiceTexts = {
  unsupported: (type) => `Клиент прислал сообщение типа, который коннектор не поддерживает (${type})`,
  empty: 'Пустое сообщение',
  undecryptable: 'Сообщение клиента не удалось расшифровать (сеанс WhatsApp рассинхронизирован); попросите клиента отправить его ещё раз.',
  pollVoteUnreadable: (reason, detail) =>
    `Пришёл голос в опросе, но его не удалось прочитать: ${
      {
        no_key: 'в голосе нет ключа опроса',
        unknown_poll: 'коннектор не знает этот опрос (истёк срок хранения или он создан на телефоне)',
        no_secret: 'у опроса нет ключа шифрования',
        decrypt_failed: `голос не расшифровался (${detail ?? '?'})`,
      }[reason]
    }.`,
  chatsMerged: (from) => `Чаты объединены: ${from} — тот же человек, что и в этом чате; его сообщения продолжаются здесь.`,
  someone: 'кто-то',
  joined: (names) => `${names}: вступление в чат`,
  left: (name) => `${name}: выход из чата`,
  titleChanged: (title) => `Название чата изменено на «${title}»`,
  photoChanged: 'Фото чата изменено',
  photoRemoved: 'Фото чата удалено',
  groupCreated: 'Группа создана',
  supergroupCreated: 'Супергруппа создана',
  channelCreated: 'Канал создан',
  pinned: (text) => (text ? `Закреплено сообщение: «${text}»` : 'Закреплено сообщение'),
  migratedTo: (id) => `Группа преобразована в супергруппу (новый id ${id})`,
  migratedFrom: (id) => `Супергруппа преобразована из группы (старый id ${id})`,
  autoDeleteChanged: 'Изменён таймер автоудаления',
  videoChatStarted: 'Начался видеочат',
  videoChatEnded: 'Видеочат завершён',
  topicCreated: (name) => `Создана тема: «${name}»`,
  writeAccessAllowed: 'Пользователь разрешил боту писать',
};

export const SERVICE_TEXTS: Readonly<Record<Language, ServiceTexts>> = { ru: RU, en: EN };

/** The texts of a language (the default language's for anything else). */
export function serviceTexts(language: Language | null | undefined): ServiceTexts {
  return (language && SERVICE_TEXTS[language]) || SERVICE_TEXTS[DEFAULT_LANGUAGE];
}

/**
 * Asks `languageOf` and falls back to the default language when it fails (a Redis hiccup
 * must not stop a message: its text is the only thing the language changes).
 */
export async function languageOrDefault(languageOf: AccountLanguage | undefined, account: string): Promise<Language> {
  if (!languageOf) return DEFAULT_LANGUAGE;
  try {
    return await languageOf(account);
  } catch {
    return DEFAULT_LANGUAGE;
  }
}

/**
 * What an account's settings say about the connector's own behaviour, asked by channels and
 * the outbound API (installed by the settings feature; without it: built-in defaults).
 */
export interface AccountPolicy {
  language: AccountLanguage;
  /**
   * May 1C and operators send to a chat of this account that never wrote to it? The account's
   * own setting (or `_default`'s); null when neither sets it (the deployment default applies:
   * WHATSAPP_MAY_WRITE_FIRST lists the account).
   */
  mayWriteFirst(account: string): Promise<boolean | null>;
}
