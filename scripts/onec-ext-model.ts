/**
 * The compact description of the 1C extension `cc_ЧатКоннектор` that
 * `onec-ext-generate.ts` turns into Designer's XML dump in `onec/extension/`.
 * Every object is the extension's own (no `ObjectBelonging` element, as Designer writes
 * own objects) except the language, which an extension must borrow.
 */
export type FieldType = { kind: 'string'; length: number } | { kind: 'number'; digits: number } | { kind: 'date' } | { kind: 'boolean' };

export interface Field {
  name: string;
  synonym: string;
  type: FieldType;
  /** A resource the module filters or orders by. */
  indexed?: boolean;
  password?: boolean;
}

export interface Register {
  name: string;
  synonym: string;
  dimensions: Field[];
  resources: Field[];
}

type FormItem =
  | { kind: 'table'; name: string; title: string; columns: string[]; onActivateRow?: string }
  | { kind: 'field'; name: string; title: string; multiLine?: boolean; readOnly?: boolean; password?: boolean }
  | { kind: 'button'; name: string; command: string };

export interface Form {
  name: string;
  synonym: string;
  items: FormItem[];
  attributes: Array<{ name: string; synonym: string; type: FieldType; columns?: Field[] }>;
  commands: Array<{ name: string; title: string; action: string }>;
}

const str = (length: number): FieldType => ({ kind: 'string', length });
const num = (digits: number): FieldType => ({ kind: 'number', digits });
const date: FieldType = { kind: 'date' };
/** Ids are keys (dimensions), and a dimension needs a bounded length; 256 covers chat keys and message ids. */
const ID = str(256);
const TEXT = str(0);

const REGISTERS: Register[] = [
  {
    name: 'cc_Чаты',
    synonym: 'Чаты',
    dimensions: [{ name: 'КлючЧата', synonym: 'Ключ чата', type: ID }],
    resources: [
      { name: 'Канал', synonym: 'Канал', type: str(20) },
      { name: 'Аккаунт', synonym: 'Аккаунт', type: str(100) },
      { name: 'Заголовок', synonym: 'Заголовок', type: str(250) },
      { name: 'Состояние', synonym: 'Состояние маршрутизации', type: str(20), indexed: true },
      { name: 'Владелец', synonym: 'Владелец (ид пользователя ИБ)', type: str(100), indexed: true },
      { name: 'Группа', synonym: 'Группа', type: str(100) },
      { name: 'ПоследнийНомер', synonym: 'Последний seq', type: num(15) },
      { name: 'ПоследнееСообщение', synonym: 'Последнее сообщение', type: date, indexed: true },
    ],
  },
  {
    name: 'cc_Сообщения',
    synonym: 'Сообщения чатов',
    dimensions: [{ name: 'ИдСообщения', synonym: 'Ид сообщения', type: ID }],
    resources: [
      { name: 'КлючЧата', synonym: 'Ключ чата', type: ID, indexed: true },
      { name: 'Номер', synonym: 'seq', type: num(15) },
      { name: 'Вид', synonym: 'Вид', type: str(20) },
      { name: 'Текст', synonym: 'Текст', type: TEXT },
      { name: 'ОтправительИд', synonym: 'Отправитель (ид)', type: str(100) },
      { name: 'ОтправительИмя', synonym: 'Отправитель', type: str(250) },
      { name: 'ИдЦели', synonym: 'Изменяемое сообщение', type: ID },
      { name: 'ИдОтвета', synonym: 'Ответ на', type: ID },
      { name: 'Отправлено', synonym: 'Отправлено', type: date },
      { name: 'Получено', synonym: 'Получено', type: date },
      { name: 'Данные', synonym: 'Сообщение (JSON)', type: TEXT },
    ],
  },
  {
    name: 'cc_ВложенияСообщений',
    synonym: 'Вложения сообщений',
    dimensions: [
      { name: 'ИдСообщения', synonym: 'Ид сообщения', type: ID },
      { name: 'ИдВложения', synonym: 'Ид вложения', type: str(100) },
    ],
    resources: [
      { name: 'ТипСодержимого', synonym: 'MIME', type: str(100) },
      { name: 'ИмяФайла', synonym: 'Имя файла', type: str(250) },
      { name: 'Размер', synonym: 'Размер', type: num(15) },
      { name: 'Хеш', synonym: 'SHA-256', type: str(64) },
      { name: 'Адрес', synonym: 'Адрес (URL)', type: TEXT },
    ],
  },
  {
    name: 'cc_ИсходящиеСообщения',
    synonym: 'Исходящие сообщения',
    dimensions: [{ name: 'ИдИсходящего', synonym: 'Ид исходящего', type: ID }],
    resources: [
      { name: 'КлючЧата', synonym: 'Ключ чата', type: ID, indexed: true },
      { name: 'Текст', synonym: 'Текст', type: TEXT },
      { name: 'Оператор', synonym: 'Оператор (ид пользователя ИБ)', type: str(100) },
      { name: 'Статус', synonym: 'Статус', type: str(20), indexed: true },
      { name: 'Ошибка', synonym: 'Ошибка', type: TEXT },
      { name: 'Создано', synonym: 'Создано', type: date },
      { name: 'Изменено', synonym: 'Изменено', type: date },
    ],
  },
  {
    name: 'cc_СтатусыИсходящих',
    synonym: 'Статусы исходящих',
    dimensions: [
      { name: 'ИдИсходящего', synonym: 'Ид исходящего', type: ID },
      { name: 'Статус', synonym: 'Статус', type: str(20) },
    ],
    resources: [
      { name: 'Момент', synonym: 'Момент', type: date },
      { name: 'Ошибка', synonym: 'Ошибка', type: TEXT },
    ],
  },
  {
    name: 'cc_СобытияМаршрутизации',
    synonym: 'События маршрутизации',
    dimensions: [{ name: 'ИдСобытия', synonym: 'Ид события', type: ID }],
    resources: [
      { name: 'КлючЧата', synonym: 'Ключ чата', type: ID, indexed: true },
      { name: 'Тип', synonym: 'Тип', type: str(20) },
      { name: 'Оператор', synonym: 'Оператор', type: str(100) },
      { name: 'Группа', synonym: 'Группа', type: str(100) },
      { name: 'Комментарий', synonym: 'Комментарий', type: TEXT },
      { name: 'Момент', synonym: 'Момент', type: date },
    ],
  },
  {
    name: 'cc_ПИНОператоров',
    synonym: 'ПИН-коды операторов',
    dimensions: [{ name: 'ИдПользователя', synonym: 'Ид пользователя ИБ', type: str(36) }],
    resources: [
      { name: 'ПИН', synonym: 'ПИН', type: str(10), indexed: true },
      { name: 'Изменен', synonym: 'Изменен', type: date },
    ],
  },
  {
    name: 'cc_ГруппыОператоров',
    synonym: 'Группы операторов',
    dimensions: [
      { name: 'ИдПользователя', synonym: 'Ид пользователя ИБ', type: str(36) },
      { name: 'Группа', synonym: 'Группа', type: str(100) },
    ],
    resources: [{ name: 'Добавлен', synonym: 'Добавлен', type: date }],
  },
];

const CONSTANTS: Field[] = [
  { name: 'cc_АдресКоннектора', synonym: 'Адрес коннектора (PUBLIC_URL)', type: str(250) },
  { name: 'cc_ТокенКоннектора', synonym: 'Токен API коннектора', type: str(250), password: true },
  { name: 'cc_РежимОбмена', synonym: 'Режим обмена (push или pull)', type: str(10) },
  { name: 'cc_ДлинаПИН', synonym: 'Длина ПИН-кода', type: num(2) },
  { name: 'cc_ВсегоЛицензий', synonym: 'Всего клиентских лицензий', type: num(6) },
  { name: 'cc_ПриложенияСЛицензией', synonym: 'Приложения, занимающие лицензию', type: str(500) },
];

const ALL_REGISTER_RIGHTS = ['Read', 'Update', 'View', 'Edit'];
const reg = (name: string, rights: string[]): { name: string; rights: string[] } => ({
  name: `InformationRegister.${name}`,
  rights,
});

const STORAGE = ['cc_Чаты', 'cc_Сообщения', 'cc_ВложенияСообщений', 'cc_СтатусыИсходящих', 'cc_СобытияМаршрутизации'];

export const EXTENSION = {
  name: 'cc_ЧатКоннектор',
  synonym: 'Чат-коннектор (Telegram, WhatsApp)',
  version: '1.0.0.1',
  language: 'Русский',
  commonModules: [
    { name: 'cc_ЧатыСервер', synonym: 'Чаты: хранение и обработка', serverCall: false, privileged: false },
    { name: 'cc_ОбменСКоннектором', synonym: 'Чаты: обмен с коннектором', serverCall: false, privileged: false },
  ],
  httpService: {
    name: 'cc_ЧатыAPI',
    synonym: 'Чаты (chats/v1)',
    rootUrl: 'chats',
    templates: [
      { name: 'licenses', template: '/v1/licenses', methods: [{ method: 'GET', handler: 'ЛицензииGET' }] },
      { name: 'messages', template: '/v1/messages', methods: [{ method: 'POST', handler: 'СообщенияPOST' }] },
      { name: 'statuses', template: '/v1/statuses', methods: [{ method: 'POST', handler: 'СтатусыPOST' }] },
      { name: 'routing', template: '/v1/routing', methods: [{ method: 'POST', handler: 'МаршрутизацияPOST' }] },
      { name: 'auth', template: '/v1/auth', methods: [{ method: 'POST', handler: 'АвторизацияPOST' }] },
    ],
  },
  scheduledJob: {
    name: 'cc_ЗагрузкаОбновленийЧатов',
    synonym: 'Загрузка обновлений чатов (режим pull)',
    method: 'CommonModule.cc_ОбменСКоннектором.ЗагрузитьОбновления',
    repeatSeconds: 60,
  },
  constants: CONSTANTS,
  registers: REGISTERS,
  roles: [
    {
      name: 'cc_СервисЧатов',
      synonym: 'Чаты: сервисный пользователь коннектора',
      objects: [
        ...STORAGE.map((r) => reg(r, ['Read', 'Update'])),
        reg('cc_ИсходящиеСообщения', ['Read', 'Update']),
        reg('cc_ГруппыОператоров', ['Read']),
        ...CONSTANTS.filter((c) => c.name !== 'cc_ТокенКоннектора').map((c) => ({
          name: `Constant.${c.name}`,
          rights: ['Read'],
        })),
      ],
    },
    {
      name: 'cc_ОператорЧатов',
      synonym: 'Чаты: оператор',
      objects: [
        ...STORAGE.map((r) => reg(r, ['Read', 'View'])),
        reg('cc_ИсходящиеСообщения', ALL_REGISTER_RIGHTS),
        reg('cc_ГруппыОператоров', ['Read', 'View']),
        { name: 'Constant.cc_АдресКоннектора', rights: ['Read'] },
        { name: 'CommonForm.cc_РабочееМестоОператора', rights: ['View'] },
      ],
    },
    {
      name: 'cc_АдминистраторЧатов',
      synonym: 'Чаты: администратор',
      objects: [
        ...STORAGE.map((r) => reg(r, ALL_REGISTER_RIGHTS)),
        reg('cc_ИсходящиеСообщения', ALL_REGISTER_RIGHTS),
        reg('cc_ПИНОператоров', ALL_REGISTER_RIGHTS),
        reg('cc_ГруппыОператоров', ALL_REGISTER_RIGHTS),
        ...CONSTANTS.map((c) => ({ name: `Constant.${c.name}`, rights: ['Read', 'Update', 'View', 'Edit'] })),
        { name: 'CommonForm.cc_НастройкиЧатов', rights: ['View'] },
        { name: 'CommonForm.cc_РабочееМестоОператора', rights: ['View'] },
      ],
    },
  ],
  forms: [
    {
      name: 'cc_РабочееМестоОператора',
      synonym: 'Чаты: рабочее место оператора',
      items: [
        { kind: 'button', name: 'КнопкаОбновить', command: 'Обновить' },
        {
          kind: 'table',
          name: 'Чаты',
          title: 'Чаты',
          columns: ['Заголовок', 'Канал', 'Состояние', 'Группа', 'КлючЧата'],
          onActivateRow: 'ЧатыПриАктивизацииСтроки',
        },
        { kind: 'table', name: 'Сообщения', title: 'Сообщения', columns: ['Время', 'Отправитель', 'Текст'] },
        { kind: 'field', name: 'ТекстОтвета', title: 'Ответ', multiLine: true },
        { kind: 'button', name: 'КнопкаОтправить', command: 'Отправить' },
        { kind: 'field', name: 'МойПИН', title: 'Мой ПИН для внешней панели', readOnly: true },
        { kind: 'button', name: 'КнопкаНовыйПИН', command: 'НовыйПИН' },
      ],
      attributes: [
        {
          name: 'Чаты',
          synonym: 'Чаты',
          type: TEXT,
          columns: [
            { name: 'КлючЧата', synonym: 'Ключ чата', type: ID },
            { name: 'Заголовок', synonym: 'Заголовок', type: str(250) },
            { name: 'Канал', synonym: 'Канал', type: str(20) },
            { name: 'Состояние', synonym: 'Состояние', type: str(20) },
            { name: 'Группа', synonym: 'Группа', type: str(100) },
          ],
        },
        {
          name: 'Сообщения',
          synonym: 'Сообщения',
          type: TEXT,
          columns: [
            { name: 'Время', synonym: 'Время', type: date },
            { name: 'Отправитель', synonym: 'Отправитель', type: str(250) },
            { name: 'Текст', synonym: 'Текст', type: TEXT },
          ],
        },
        { name: 'ТекстОтвета', synonym: 'Ответ', type: TEXT },
        { name: 'МойПИН', synonym: 'Мой ПИН', type: str(10) },
      ],
      commands: [
        { name: 'Обновить', title: 'Обновить', action: 'Обновить' },
        { name: 'Отправить', title: 'Отправить', action: 'Отправить' },
        { name: 'НовыйПИН', title: 'Новый ПИН', action: 'НовыйПИН' },
      ],
    },
    {
      name: 'cc_НастройкиЧатов',
      synonym: 'Чаты: настройки',
      items: [
        { kind: 'field', name: 'АдресКоннектора', title: 'Адрес коннектора' },
        { kind: 'field', name: 'ТокенКоннектора', title: 'Токен API коннектора', password: true },
        { kind: 'field', name: 'РежимОбмена', title: 'Режим обмена (push или pull)' },
        { kind: 'field', name: 'ДлинаПИН', title: 'Длина ПИН-кода' },
        { kind: 'field', name: 'ВсегоЛицензий', title: 'Всего клиентских лицензий' },
        { kind: 'field', name: 'ПриложенияСЛицензией', title: 'Приложения, занимающие лицензию' },
        { kind: 'button', name: 'КнопкаЗаписать', command: 'Записать' },
      ],
      attributes: [
        { name: 'АдресКоннектора', synonym: 'Адрес коннектора', type: str(250) },
        { name: 'ТокенКоннектора', synonym: 'Токен API коннектора', type: str(250) },
        { name: 'РежимОбмена', synonym: 'Режим обмена', type: str(10) },
        { name: 'ДлинаПИН', synonym: 'Длина ПИН-кода', type: num(2) },
        { name: 'ВсегоЛицензий', synonym: 'Всего клиентских лицензий', type: num(6) },
        { name: 'ПриложенияСЛицензией', synonym: 'Приложения, занимающие лицензию', type: str(500) },
      ],
      commands: [{ name: 'Записать', title: 'Записать', action: 'Записать' }],
    },
  ] satisfies Form[],
};
