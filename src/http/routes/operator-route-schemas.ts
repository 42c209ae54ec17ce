/**
 * Schemas of the operator and chat routes (operator-routes.ts, chat-routes.ts), kept apart
 * from their handlers. Shape only; the handlers (and the login service) keep the domain
 * checks.
 */
import { errorResponses, objectReply, security, stringParams } from '../route-schema.ts';

const seat = objectReply('The seat held.', { feature: { type: 'integer' }, used: { type: 'integer' }, total: { type: 'integer' } });
const chatState = objectReply('Routing state of a chat: status, owner, group, previous owner.');
// In the transfer/close answers either may be null (no state yet; nothing changed).
const chat = { ...chatState, nullable: true };
const event = { ...objectReply('The routing event written (null when nothing changed).'), nullable: true };

export const operatorSchemas = {
  login: {
    summary: 'Operator login',
    tags: ['operators'],
    // No token: the operator's own credentials authenticate it (connector-api.md).
    security: security('public'),
    // Types and lengths only: which fields are required and their values (client, the
    // 4-digit pin, login or pin) are the login service's checks, with its own sentences.
    body: {
      type: 'object',
      properties: {
        workstationUser: { type: 'string', maxLength: 200, description: 'Required, e.g. CORP\\\\ivanov.' },
        client: { type: 'string', maxLength: 20, description: 'Required: "1c" or "panel".' },
        login: { type: 'string', maxLength: 200 },
        password: { type: 'string', maxLength: 1000 },
        pin: { type: 'string', maxLength: 100 },
      },
    },
    response: {
      200: objectReply('A current login.', {
        token: { type: 'string' },
        operator: objectReply('The operator.'),
        seat,
        expiresAt: { type: 'string' },
      }),
      ...errorResponses(400, 401, 403, 502, 503),
    },
  },
  revoke: {
    summary: 'Revoke every login of an operator (admin)',
    tags: ['operators'],
    security: security('api'),
    params: stringParams('id'),
    response: {
      200: objectReply('How many logins were revoked.', { operatorId: { type: 'string' }, revoked: { type: 'integer' } }),
      ...errorResponses(401),
    },
  },
  heartbeat: {
    summary: 'Keep the seat and the login alive',
    tags: ['operators'],
    security: security('operator'),
    response: { 200: objectReply('Still logged in.', { expiresAt: { type: 'string' }, seat }), ...errorResponses(401) },
  },
  logout: {
    summary: 'Log out and free the seat',
    tags: ['operators'],
    security: security('operator'),
    response: { 200: objectReply('Logged out.', { ok: { type: 'boolean' } }), ...errorResponses(401) },
  },
  feed: {
    summary: 'Server-Sent Events: message, routing, status (resumes from Last-Event-ID)',
    tags: ['operators'],
    security: security('operator'),
    headers: { type: 'object', properties: { 'last-event-id': { type: 'string', maxLength: 40 } } },
    response: {
      200: { description: 'An event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
      ...errorResponses(400, 401),
    },
  },
};

const chatSecurity = [...security('api'), ...security('operator')];

export const chatSchemas = {
  transfer: {
    summary: 'Transfer a chat to an operator or a group',
    tags: ['chats'],
    security: chatSecurity,
    params: stringParams('chatId'),
    body: {
      type: 'object',
      properties: {
        operatorId: { type: ['string', 'null'], maxLength: 200 },
        group: { type: ['string', 'null'], maxLength: 200 },
        comment: { type: ['string', 'null'], maxLength: 4000 },
      },
    },
    response: { 200: objectReply('The chat and the event.', { chat, event }), ...errorResponses(400, 401, 403, 404) },
  },
  close: {
    summary: 'Close a chat',
    tags: ['chats'],
    security: chatSecurity,
    params: stringParams('chatId'),
    response: { 200: objectReply('The chat and the event.', { chat, event }), ...errorResponses(401, 403, 404) },
  },
  state: {
    summary: 'Routing state of a chat',
    tags: ['chats'],
    security: chatSecurity,
    params: stringParams('chatId'),
    response: { 200: chatState, ...errorResponses(401, 404) },
  },
  rules: {
    summary: 'The keyword routing rules',
    tags: ['routing'],
    security: security('api'),
    response: { 200: objectReply('The rules.', { rules: { type: 'array', items: objectReply('A rule.') } }), ...errorResponses(401) },
  },
  setRules: {
    summary: 'Replace the keyword routing rules',
    tags: ['routing'],
    security: security('api'),
    body: { description: 'The rules (see connector-api.md).' },
    response: {
      200: objectReply('The rules now in force.', { rules: { type: 'array', items: objectReply('A rule.') } }),
      ...errorResponses(400, 401),
    },
  },
};
