/**
 * A scripted TDLib double: answers requests from a script and emits TDLib's real update
 * objects (td_api.tl) — `updateAuthorizationState` with the AuthorizationState objects, in the
 * order TDLib sends them. Requests are recorded for the assertions.
 */
import type { TdClient, TdObject } from '../../../src/channels/telegram-user/tdlib-client.ts';

/** An answer, or TDLib's `error` object (`{_: 'error', code, message}`), which makes invoke reject as tdl does. */
type Handler = (request: TdObject) => TdObject;

export class TdlibDouble implements TdClient {
  readonly requests: TdObject[] = [];
  private readonly listeners = new Set<(u: TdObject) => void>();
  private readonly handlers = new Map<string, Handler>();

  /** Script the answer to one request type. */
  on(type: string, handler: Handler): this {
    this.handlers.set(type, handler);
    return this;
  }

  emit(update: TdObject): void {
    for (const l of [...this.listeners]) l(update);
  }

  authState(state: TdObject): void {
    this.emit({ _: 'updateAuthorizationState', authorization_state: state });
  }

  async invoke(request: TdObject): Promise<TdObject> {
    this.requests.push(request);
    const h = this.handlers.get(request._);
    const r = h ? h(request) : { _: 'ok' };
    // TDLib answers first and emits the state change after, asynchronously.
    await Promise.resolve();
    if (r._ === 'error') throw Object.assign(new Error(String(r.message)), { code: r.code, message: r.message });
    return r;
  }

  onUpdate(listener: (u: TdObject) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.authState({ _: 'authorizationStateClosed' });
  }
}
