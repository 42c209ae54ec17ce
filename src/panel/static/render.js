// Rendering of history items (inbound, outbound with status, routing events) as DOM nodes.
// Never innerHTML with data: every customer text goes in through textContent.
import { mediaUrl } from './api.js';
import { currentLang, t } from './i18n.js';

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export const CHANNEL_ICON = { telegram: '✈️', whatsapp: '🟢' };

export function channelOf(chatId) {
  return chatId.startsWith('wa:') ? 'whatsapp' : 'telegram';
}

export function accountOf(chatId) {
  return chatId.split(':')[1] ?? '';
}

export function timeOf(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? ''
    : d.toLocaleTimeString(currentLang() === 'en' ? 'en-GB' : 'ru-RU', { hour: '2-digit', minute: '2-digit' });
}

export function summaryOf(m) {
  if (!m) return '';
  if (m.text) return m.text;
  if (m.kind === 'delete') return t('deleted');
  if (m.media?.length) return '📎 ' + (m.media[0].fileName ?? m.kind ?? '');
  return m.kind ? `[${m.kind}]` : t('noText');
}

const STATUS_MARK = { queued: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '✗' };

export function statusNode(s) {
  const st = s?.status ?? 'queued';
  return el(
    'span',
    { class: `status st-${st}`, 'data-status': st, title: s?.error ?? '' },
    `${STATUS_MARK[st] ?? ''} ${t('st_' + st)}`,
    st === 'failed' && s?.error ? el('span', { class: 'reason', text: ` — ${s.error}` }) : null,
  );
}

function mediaNode(token, chatId, media, kind) {
  const id = media.id ?? media.mediaId;
  const mime = media.mime ?? '';
  const box = el('div', { class: 'media' });
  // A file of a reply still on its way has no id yet: its name only.
  if (!id) return el('div', { class: 'media', text: `📎 ${media.fileName ?? ''}` });
  const isImage = mime.startsWith('image/') || kind === 'photo' || kind === 'sticker';
  const isAudio = mime.startsWith('audio/') || kind === 'voice' || kind === 'audio';
  const isVideo = mime.startsWith('video/') || kind === 'video';
  if (isImage || isAudio || isVideo) {
    const node = isImage
      ? el('img', { alt: media.fileName ?? kind ?? 'image', loading: 'lazy' })
      : el(isAudio ? 'audio' : 'video', { controls: true, preload: 'metadata' });
    box.append(node);
    mediaUrl(token, chatId, id).then(
      (u) => (node.src = u),
      () => box.append(el('span', { class: 'error', text: '⚠' })),
    );
  }
  const name = media.fileName ?? `${kind ?? 'file'}-${id.slice(0, 8)}`;
  const a = el('a', { href: '#', class: 'download', text: `⬇ ${t('download')}: ${name}` });
  a.addEventListener('click', async (ev) => {
    ev.preventDefault();
    const u = await mediaUrl(token, chatId, id);
    const tmp = el('a', { href: u, download: name });
    document.body.append(tmp);
    tmp.click();
    tmp.remove();
  });
  box.append(a);
  return box;
}

/** One history item as a list element. `byId` finds earlier items (quotes, edit targets). */
export function itemNode(item, { token, me, byId }) {
  if (item.dir === 'routing') {
    const e = item.event;
    const to = e.operatorId ?? e.group ?? '';
    const text = t('ev_' + e.type, { g: e.group ?? '', o: e.operatorId ?? '', to, a: e.actor ?? '' });
    return el(
      'li',
      { class: 'item routing', 'data-id': item.id },
      el('span', { text: `${timeOf(item.at)} · ${text}` }),
      e.comment ? el('span', { class: 'comment', text: ` · ${t('comment_', { c: e.comment })}` }) : null,
    );
  }
  const m = item.message;
  const out = item.dir === 'out';
  const li = el('li', { class: `item ${out ? 'out' : 'in'}`, 'data-id': item.id });
  const who = out ? (m.operatorId === me ? t('you') : (m.operatorId ?? '')) : (m.sender?.name ?? '');
  li.append(el('div', { class: 'meta', text: `${who} · ${timeOf(item.at)}` }));
  if (m.replyTo) {
    const q = byId(m.replyTo);
    li.append(el('blockquote', { text: `${t('replyTo')}: ${q ? summaryOf(q.message) : m.replyTo}` }));
  }
  if (m.kind === 'edit' || m.kind === 'delete' || m.kind === 'reaction') {
    const target = byId(m.target);
    const label =
      m.kind === 'edit' ? `✎ ${t('edited')}` : m.kind === 'delete' ? `🗑 ${t('deleted')}` : `${t('reacted', { r: m.text ?? '' })}`;
    li.classList.add('change');
    li.append(el('div', { class: 'text', text: m.kind === 'edit' ? `${label}: ${m.text ?? ''}` : label }));
    if (target) li.append(el('blockquote', { text: summaryOf(target.message) }));
    return li;
  }
  if (m.text) li.append(el('div', { class: 'text', text: m.text }));
  if (m.location)
    li.append(el('div', { class: 'text', text: `📍 ${t('location')}: ${m.location.name ?? ''} ${m.location.lat}, ${m.location.lon}` }));
  if (m.contact) li.append(el('div', { class: 'text', text: `👤 ${t('contact')}: ${m.contact.name ?? ''} ${m.contact.phone ?? ''}` }));
  for (const md of m.media ?? []) li.append(mediaNode(token, m.chatId, md, m.kind ?? md.kind));
  if (out) li.append(statusNode(item.status));
  return li;
}
