/**
 * Where the WhatsApp channel keeps its state in Redis. Everything of one account lives
 * under `<prefix>:wa:<account>:`, so an account can be inspected or removed as a unit.
 *
 * | key                                   | what                                              |
 * | ------------------------------------- | ------------------------------------------------- |
 * | `…:auth:creds`                        | Baileys AuthenticationCreds (BufferJSON)          |
 * | `…:auth:keys` (hash)                  | every Signal key, field `<type>:<id>` (BufferJSON) |
 * | `…:chatkey:<jid>`                     | the stable chat-key jid chosen for a PN or LID jid |
 * | `…:sent:<wa key.id>`                  | protobuf of a message we sent (for `getMessage`)   |
 * | `…:outid:<wa key.id>`                 | our outbound id of a WhatsApp message id (receipts)|
 * | `…:quote:<our message id>`            | key + protobuf of a message, so a reply can quote it|
 * | `…:state`                             | the runner's last AccountState (JSON), for `doctor` |
 * | `…:contacted:<jid>`                   | the person wrote to us once (may-write-first gate)  |
 * | `…:merged:<jid>`                      | a later chat-key jid merged into an earlier one     |
 * | `…:chatkey-born:<jid>`                | when a chat-key jid was first chosen (merge order)  |
 */
export function accountKeyPrefix(prefix: string, account: string): string {
  return `${prefix}:wa:${account}:`;
}

export interface AccountKeys {
  creds: string;
  signalKeys: string;
  chatKey(jid: string): string;
  sent(waId: string): string;
  outId(waId: string): string;
  quote(messageId: string): string;
  state: string;
  contacted(jid: string): string;
  merged(jid: string): string;
  born(jid: string): string;
}

export function accountKeys(prefix: string, account: string): AccountKeys {
  const base = accountKeyPrefix(prefix, account);
  return {
    creds: `${base}auth:creds`,
    signalKeys: `${base}auth:keys`,
    chatKey: (jid) => `${base}chatkey:${jid}`,
    sent: (id) => `${base}sent:${id}`,
    outId: (id) => `${base}outid:${id}`,
    quote: (id) => `${base}quote:${id}`,
    state: `${base}state`,
    contacted: (jid) => `${base}contacted:${jid}`,
    merged: (jid) => `${base}merged:${jid}`,
    born: (jid) => `${base}chatkey-born:${jid}`,
  };
}
