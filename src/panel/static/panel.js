// The operator panel: login, the live chat list, one chat at a time. Plain ES modules, no
// framework, no build step; every text from the API is shown as the API's sentence.
import { ApiError, call, newId, openFeed } from './api.js';
import { currentLang, setLang, t } from './i18n.js';
import { CHANNEL_ICON, accountOf, channelOf, el, itemNode, statusNode, summaryOf, timeOf } from './render.js';

const $ = (id) => document.getElementById(id);
const state = {
  session: null, // { token, operator, expiresAt }
  feed: null,
  heartbeat: null,
  chats: new Map(), // chatId → { chatId, name, status, owner, group, last, lastAt, waitingSince, unread }
  open: null, // chatId
  items: new Map(), // id → item of the open chat
  older: null, // `before` cursor of the open chat
  operators: new Set(),
  groups: new Set(),
  feedIds: [], // every feed event id handed to us (tests check: no gap, no repeat)
  newChats: 0,
};
window.__panel = { state, dropFeed: () => state.feed?.drop() };

// ------------------------------------------------------------------ login
const WS_KEY = 'panel.workstationUser';
let proxyUser = null;

async function init() {
  setLang(currentLang());
  $('lang').textContent = currentLang() === 'ru' ? 'English' : 'Русский';
  $('lang').addEventListener('click', () => {
    setLang(currentLang() === 'ru' ? 'en' : 'ru');
    $('lang').textContent = currentLang() === 'ru' ? 'English' : 'Русский';
    renderList();
    if (state.open) renderChatHead();
  });
  for (const r of document.querySelectorAll('input[name=mode]')) r.addEventListener('change', modeChanged);
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void login();
  });
  $('logout').addEventListener('click', () => void logout());
  window.addEventListener('pagehide', () => {
    // Closing the tab frees the seat (keepalive outlives the page; sendBeacon cannot send the bearer).
    if (state.session)
      void call('POST', '/api/v1/operators/logout', { token: state.session.token, keepalive: true }).catch(() => undefined);
  });
  wireChat();
  try {
    const s = await call('GET', '/panel/session.json');
    proxyUser = s?.workstationUser ?? null;
  } catch {
    proxyUser = null;
  }
  if (proxyUser) {
    $('ws-user').value = proxyUser;
    $('ws-user').closest('label').hidden = true;
    $('ws-proxy').hidden = false;
    $('ws-proxy').textContent = t('wsFromProxy', { u: proxyUser });
  } else $('ws-user').value = localStorage.getItem(WS_KEY) ?? '';
  showLogin();
}

function modeChanged() {
  const pin = document.querySelector('input[name=mode]:checked').value === 'pin';
  $('by-pin').hidden = !pin;
  $('by-password').hidden = pin;
}

function showLogin(message = '') {
  $('login-view').hidden = false;
  $('app-view').hidden = true;
  $('logout').hidden = true;
  $('me').textContent = '';
  $('conn').textContent = '';
  $('login-error').textContent = message;
  ($('ws-user').value && !proxyUser ? $('login') : $('ws-user')).focus();
}

let countdown = null;
function blockFor(seconds, message) {
  clearInterval(countdown);
  let left = Math.ceil(seconds);
  const btn = $('login-btn');
  const tick = () => {
    if (left <= 0) {
      clearInterval(countdown);
      btn.disabled = false;
      $('login-error').textContent = message;
      return;
    }
    btn.disabled = true;
    $('login-error').textContent = `${message} ${t('retryIn', { s: left })}`;
    left--;
  };
  tick();
  countdown = setInterval(tick, 1000);
}

async function login() {
  const ws = (proxyUser ?? $('ws-user').value).trim();
  if (!ws) {
    $('login-error').textContent = t('wsRequired');
    return;
  }
  const pin = document.querySelector('input[name=mode]:checked').value === 'pin';
  const body = {
    workstationUser: ws,
    client: 'panel',
    ...(pin ? { pin: $('pin').value } : { login: $('login').value, password: $('password').value }),
  };
  $('login-btn').disabled = true;
  $('login-error').textContent = '';
  try {
    const res = await call('POST', '/api/v1/operators/login', { body });
    if (!proxyUser) localStorage.setItem(WS_KEY, ws);
    $('password').value = '';
    $('pin').value = '';
    start(res);
  } catch (e) {
    const msg = e instanceof ApiError ? e.message : String(e);
    if (e instanceof ApiError && e.retryAfterS && (e.status === 503 || e.status === 429)) return blockFor(e.retryAfterS, msg);
    $('login-error').textContent = msg;
  }
  $('login-btn').disabled = false;
}

function start(res) {
  state.session = { token: res.token, operator: res.operator, expiresAt: res.expiresAt };
  for (const g of res.operator.groups) state.groups.add(g);
  state.operators.add(res.operator.id);
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('logout').hidden = false;
  $('me').textContent = `${res.operator.name} (${res.operator.id}) · ${res.seat.feature} ${res.seat.used}/${res.seat.total}`;
  const ttl = Math.max(5_000, Date.parse(res.expiresAt) - Date.now());
  state.heartbeat = setInterval(() => void beat(), Math.min(30_000, ttl / 3));
  // The list as it is now first, then the feed (which replays everything since the login on top of it).
  void loadChats(res.token).finally(() => openLiveFeed(res.token));
  renderList();
}

async function loadChats(token) {
  try {
    const { chats } = await call('GET', '/api/v1/panel/chats', { token });
    for (const x of chats) {
      const c = chatOf(x.chatId);
      Object.assign(c, { status: x.status, owner: x.owner, group: x.group, known: true });
      if (x.last) {
        const m = x.last.message;
        if (x.last.dir === 'in') c.name = m.chat?.title || m.sender?.name || c.name;
        c.last = summaryOf(m);
        c.lastAt = x.last.at;
        c.waitingSince = x.last.dir === 'in' ? x.last.at : null;
      }
      if (!x.last || x.last.dir !== 'in') void fillChat(c);
    }
    renderList();
  } catch {
    /* the feed still fills the list from now on */
  }
}

function openLiveFeed(token) {
  if (!state.session || state.session.token !== token) return;
  state.feed = openFeed(token, {
    onEvent,
    onState: (s) => ($('conn').textContent = s === 'online' ? `● ${t('online')}` : `○ ${t('reconnecting')}`),
    onEnded: () => end(t('sessionEnded')),
  });
}

async function beat() {
  if (!state.session) return;
  try {
    const r = await call('POST', '/api/v1/operators/heartbeat', { token: state.session.token });
    state.session.expiresAt = r.expiresAt;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) end(e.message);
  }
}

function end(message) {
  clearInterval(state.heartbeat);
  state.feed?.stop();
  state.session = null;
  state.chats.clear();
  closeChat();
  showLogin(message);
}

async function logout() {
  const s = state.session;
  end('');
  if (s) await call('POST', '/api/v1/operators/logout', { token: s.token }).catch(() => undefined);
}

// ------------------------------------------------------------------ feed → list
const me = () => state.session?.operator.id;
const mine = (c) => c.status === 'assigned' && c.owner === me();
const queuedForMe = (c) => c.status === 'queued' && (c.group === null || state.groups.has(c.group));

function chatOf(chatId) {
  let c = state.chats.get(chatId);
  if (!c) {
    c = {
      chatId,
      name: chatId.split(':').slice(2).join(':'),
      status: 'queued',
      owner: null,
      group: null,
      last: '',
      lastAt: null,
      waitingSince: null,
      unread: 0,
      known: false,
    };
    state.chats.set(chatId, c);
  }
  return c;
}

function onEvent(type, data, id) {
  if (id) state.feedIds.push(id);
  if (type === 'message') onMessage(data);
  else if (type === 'routing') onRouting(data);
  else if (type === 'status') onStatus(data);
  renderList();
}

function onMessage(m) {
  const existed = state.chats.has(m.chatId);
  const c = chatOf(m.chatId);
  c.known = true;
  c.name = m.chat?.title || m.sender?.name || c.name;
  c.last = summaryOf(m);
  c.lastAt = m.receivedAt;
  c.waitingSince ??= m.receivedAt;
  if (m.route) {
    c.status = m.route.status;
    c.owner = m.route.operatorId;
    c.group = m.route.group;
  }
  if (state.open === m.chatId && document.visibilityState === 'visible') c.unread = 0;
  else c.unread++;
  if (!existed) {
    state.newChats++;
    beep();
  }
  if (state.open === m.chatId) addItem({ id: m.id, dir: 'in', at: m.receivedAt, message: m });
}

function onRouting(e) {
  for (const o of [e.operatorId, e.previousOwner, e.actor]) if (o && o !== 'api' && o !== 'system') state.operators.add(o);
  if (e.group) state.groups.add(e.group);
  const c = chatOf(e.chatId);
  if (e.type === 'closed') {
    c.status = 'closed';
    c.owner = null;
  } else if (e.operatorId) {
    c.status = 'assigned';
    c.owner = e.operatorId;
  } else {
    c.status = 'queued';
    c.owner = null;
  }
  if (e.group) c.group = e.group;
  if (!c.known) void fillChat(c);
  if (state.open === e.chatId) {
    addItem({ id: e.id, dir: 'routing', at: e.at, event: e });
    renderChatHead();
  }
}

function onStatus(s) {
  const item = state.open === s.chatId ? state.items.get(s.id) : null;
  if (item && item.dir === 'out') {
    const rank = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 9 };
    if ((rank[s.status] ?? 0) >= (rank[item.status?.status] ?? 0)) {
      item.status = { status: s.status, at: s.at, error: s.error };
      document.querySelector(`#history li[data-id="${CSS.escape(s.id)}"] .status`)?.replaceWith(statusNode(item.status));
    }
  }
  if (s.status === 'sent' || s.status === 'delivered') chatOf(s.chatId).waitingSince = null;
}

async function fillChat(c) {
  c.known = true;
  try {
    const page = await call('GET', `/api/v1/chats/${encodeURIComponent(c.chatId)}/messages?limit=20`, { token: state.session.token });
    const lastIn = [...page.items].reverse().find((i) => i.dir === 'in');
    const lastMsg = [...page.items].reverse().find((i) => i.dir !== 'routing');
    if (lastIn) c.name = lastIn.message.chat?.title || lastIn.message.sender?.name || c.name;
    if (lastMsg) {
      c.last = summaryOf(lastMsg.message);
      c.lastAt = lastMsg.at;
      // The customer waits when the last word is theirs.
      c.waitingSince = lastMsg.dir === 'in' ? lastMsg.at : null;
    }
    renderList();
  } catch {
    /* no longer ours to read: the list shows the chat key */
  }
}

let beepCtx = null;
function beep() {
  updateTitle();
  try {
    beepCtx ??= new AudioContext();
    const o = beepCtx.createOscillator();
    const g = beepCtx.createGain();
    g.gain.value = 0.05;
    o.connect(g).connect(beepCtx.destination);
    o.start();
    o.stop(beepCtx.currentTime + 0.12);
  } catch {
    /* no sound before the first click: the title badge still shows */
  }
}

function updateTitle() {
  let unread = 0;
  for (const c of state.chats.values()) if (mine(c) || queuedForMe(c)) unread += c.unread;
  document.title = (unread ? `(${unread}) ` : '') + t('title');
}

function ago(iso) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h`;
}

function renderList() {
  const my = [];
  const queued = [];
  for (const c of state.chats.values()) (mine(c) ? my : queuedForMe(c) ? queued : []).push(c);
  const byTime = (a, b) => String(b.lastAt ?? '').localeCompare(String(a.lastAt ?? ''));
  fillList($('my-chats'), my.sort(byTime));
  fillList($('queued-chats'), queued.sort(byTime));
  updateTitle();
}

function fillList(ul, chats) {
  ul.replaceChildren(
    ...chats.map((c) =>
      el(
        'li',
        { class: state.open === c.chatId ? 'current' : '' },
        el(
          'button',
          { type: 'button', class: 'chat-item', 'data-chat': c.chatId, onclick: () => void openChat(c.chatId) },
          el('span', { class: 'icon', title: `${channelOf(c.chatId)} · ${accountOf(c.chatId)}`, text: CHANNEL_ICON[channelOf(c.chatId)] }),
          el('span', { class: 'name', text: c.name }),
          c.unread ? el('span', { class: 'unread', 'data-unread': c.unread, text: String(c.unread) }) : null,
          el('span', { class: 'account', text: `@${accountOf(c.chatId)}` }),
          el('span', { class: 'last', text: c.last }),
          el('span', { class: 'wait', text: c.waitingSince ? t('waiting', { t: ago(c.waitingSince) }) : timeOf(c.lastAt) }),
        ),
      ),
    ),
  );
  if (!chats.length) ul.append(el('li', { class: 'none', text: t('empty') }));
}
setInterval(() => state.session && renderList(), 30_000);

// ------------------------------------------------------------------ one chat
function wireChat() {
  $('back').addEventListener('click', closeChat);
  $('take').addEventListener('click', () => act(() => call('POST', chatPath('transfer'), { token: tok(), body: { operatorId: me() } })));
  $('close-chat').addEventListener('click', () => act(() => call('POST', chatPath('close'), { token: tok() })));
  $('transfer-open').addEventListener('click', () => {
    $('transfer-form').hidden = !$('transfer-form').hidden;
    $('known-operators').replaceChildren(...[...state.operators].filter((o) => o !== me()).map((o) => el('option', { value: o })));
    $('known-groups').replaceChildren(...[...state.groups].map((g) => el('option', { value: g })));
    if (!$('transfer-form').hidden) $('to-operator').focus();
  });
  $('transfer-cancel').addEventListener('click', () => ($('transfer-form').hidden = true));
  $('transfer-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const operatorId = $('to-operator').value.trim() || undefined;
    const group = $('to-group').value.trim() || undefined;
    if (!operatorId && !group) return void ($('chat-error').textContent = t('transferNeedsTarget'));
    const comment = $('transfer-comment').value.trim() || undefined;
    act(async () => {
      await call('POST', chatPath('transfer'), { token: tok(), body: { operatorId, group, comment } });
      $('transfer-form').hidden = true;
      $('to-operator').value = $('to-group').value = $('transfer-comment').value = '';
    });
  });
  $('composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void send();
  });
  $('text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      void send();
    }
  });
  $('file').addEventListener('change', () => {
    for (const f of $('file').files) attach(f);
    $('file').value = '';
  });
  const pane = $('chat');
  pane.addEventListener('dragover', (ev) => ev.preventDefault());
  pane.addEventListener('drop', (ev) => {
    ev.preventDefault();
    for (const f of ev.dataTransfer?.files ?? []) attach(f);
  });
  $('text').addEventListener('paste', (ev) => {
    for (const f of ev.clipboardData?.files ?? []) attach(f);
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && state.open && document.activeElement?.id !== 'text') closeChat();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.open) {
      chatOf(state.open).unread = 0;
      renderList();
    }
  });
}

const tok = () => state.session.token;
const chatPath = (what) => `/api/v1/chats/${encodeURIComponent(state.open)}/${what}`;

async function act(fn) {
  $('chat-error').textContent = '';
  try {
    await fn();
  } catch (e) {
    $('chat-error').textContent = e instanceof ApiError ? e.message : String(e);
  }
}

async function openChat(chatId) {
  state.open = chatId;
  state.items.clear();
  const c = chatOf(chatId);
  c.unread = 0;
  $('no-chat').hidden = true;
  $('chat-pane').hidden = false;
  $('app-view').classList.add('chat-open');
  $('history').replaceChildren();
  $('chat-error').textContent = '';
  $('transfer-form').hidden = true;
  renderChatHead();
  renderList();
  await loadPage(null);
  $('text').focus();
}

function closeChat() {
  state.open = null;
  $('chat-pane').hidden = true;
  $('no-chat').hidden = false;
  $('app-view').classList.remove('chat-open');
  renderList();
}

async function loadPage(before) {
  const chatId = state.open;
  try {
    const q = new URLSearchParams({ limit: '50', ...(before ? { before } : {}) });
    const page = await call('GET', `/api/v1/chats/${encodeURIComponent(chatId)}/messages?${q}`, { token: tok() });
    if (state.open !== chatId) return;
    state.older = page.before;
    const nodes = [];
    for (const item of page.items) {
      if (state.items.has(item.id)) continue;
      state.items.set(item.id, item);
      nodes.push(itemNode(item, ctxOfRender()));
    }
    $('history').querySelector('.older')?.remove();
    $('history').prepend(...nodes);
    if (state.older) {
      const btn = el('button', { type: 'button', class: 'link', text: t('loadOlder'), onclick: () => void loadPage(state.older) });
      $('history').prepend(el('li', { class: 'older' }, btn));
    }
    if (!before) scrollDown();
  } catch (e) {
    $('chat-error').textContent = e instanceof ApiError ? e.message : String(e);
  }
}

const ctxOfRender = () => ({ token: tok(), me: me(), byId: (id) => state.items.get(id) });

function addItem(item) {
  if (state.items.has(item.id)) return;
  state.items.set(item.id, item);
  $('history').append(itemNode(item, ctxOfRender()));
  scrollDown();
}

function scrollDown() {
  const h = $('history');
  h.scrollTop = h.scrollHeight;
}

function renderChatHead() {
  const c = chatOf(state.open);
  $('chat-icon').textContent = CHANNEL_ICON[channelOf(c.chatId)];
  $('chat-icon').title = `${channelOf(c.chatId)} · @${accountOf(c.chatId)}`;
  $('chat-name').textContent = c.name;
  $('chat-state').textContent =
    c.status === 'closed'
      ? t('closed')
      : c.status === 'queued'
        ? t('queuedIn', { g: c.group ?? '' })
        : c.owner === me()
          ? t('yours')
          : t('assignedTo', { o: c.owner });
  $('take').hidden = !queuedForMe(c);
  $('close-chat').hidden = !(mine(c) || queuedForMe(c));
  $('transfer-open').hidden = !(mine(c) || queuedForMe(c));
  $('composer').hidden = !(mine(c) || queuedForMe(c));
}

// ------------------------------------------------------------------ sending
const pending = []; // files to go with the next message: { name, mime, base64 }

function attach(file) {
  const reader = new FileReader();
  reader.onload = () => {
    const base64 = String(reader.result).split(',')[1] ?? '';
    const entry = { name: file.name || 'file', mime: file.type || 'application/octet-stream', base64 };
    pending.push(entry);
    const chip = el('span', { class: 'chip', text: `📎 ${entry.name} ` });
    chip.append(
      el('button', {
        type: 'button',
        class: 'link',
        text: '×',
        'aria-label': t('remove'),
        onclick: () => {
          pending.splice(pending.indexOf(entry), 1);
          chip.remove();
        },
      }),
    );
    $('attachments').append(chip);
  };
  reader.readAsDataURL(file);
}

async function send() {
  const text = $('text').value;
  if (!text.trim() && !pending.length) return;
  const body = {
    id: newId(), // made once per message: a double click or a retry sends the same id, never twice
    chatId: state.open,
    text: text.trim() ? text : undefined,
    media: pending.splice(0).map((p) => ({ base64: p.base64, mime: p.mime, fileName: p.name })),
  };
  $('text').value = '';
  $('attachments').replaceChildren();
  const item = {
    id: body.id,
    dir: 'out',
    at: new Date().toISOString(),
    message: {
      id: body.id,
      chatId: body.chatId,
      text: body.text ?? null,
      media: body.media.map((m) => ({ fileName: m.fileName, mime: m.mime })),
      operatorId: me(),
    },
    status: { status: 'queued', at: new Date().toISOString() },
  };
  addItem(item);
  await post(body);
}

async function post(body) {
  const li = () => document.querySelector(`#history li[data-id="${CSS.escape(body.id)}"]`);
  li()?.querySelector('.send-error')?.remove();
  try {
    await call('POST', '/api/v1/messages', { token: tok(), body });
  } catch (e) {
    const msg = e instanceof ApiError ? e.message : String(e);
    const retry = el('button', { type: 'button', class: 'link', text: t('retry'), onclick: () => void post(body) });
    li()?.append(el('div', { class: 'send-error error' }, t('notSent', { e: msg }), ' ', retry));
  }
}

void init();
