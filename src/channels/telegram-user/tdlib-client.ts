/**
 * The narrow TDLib interface the user-account channel (issue 20, part 2) is built on, and
 * its real implementation over `tdl` + `prebuilt-tdlib` (the native tdjson ships inside the
 * npm package, so a fresh `npm install` has it). Objects are TDLib's own JSON objects
 * (`td_api.tl`: `{"_": "updateNewMessage", ...}`); tests drive the channel with a scripted
 * double that emits the same objects, because TDLib cannot reach Telegram here.
 *
 * `tdl` and `prebuilt-tdlib` are imported lazily: a connector without user accounts never
 * loads the native library.
 */

/** A TDLib object: `_` names its type in td_api.tl. */
export interface TdObject {
  _: string;
  [field: string]: unknown;
}

/** What TDLib answers a failed request with (td_api.tl `error code:int32 message:string`). */
export interface TdError extends TdObject {
  _: 'error';
  code: number;
  message: string;
}

export interface TdClient {
  /** Sends a request; rejects with a TdError-like error (`code`, `message`) on failure. */
  invoke(request: TdObject): Promise<TdObject>;
  /** Every update TDLib emits, in TDLib's order; returns the unsubscribe function. */
  onUpdate(listener: (update: TdObject) => void): () => void;
  close(): Promise<void>;
}

export interface TdlibClientOptions {
  apiId: number;
  apiHash: string;
  /** Per account; TDLib's database (encrypted with `databaseEncryptionKey`) lives here. */
  databaseDirectory: string;
  filesDirectory: string;
  databaseEncryptionKey: string;
}

/** tdl's error carries TDLib's code and message. */
export function tdErrorOf(err: unknown): { code: number; message: string } {
  if (err && typeof err === 'object') {
    const o = err as { code?: unknown; message?: unknown };
    if (typeof o.code === 'number' && typeof o.message === 'string') return { code: o.code, message: o.message };
    if (typeof o.message === 'string') return { code: 0, message: o.message };
  }
  return { code: 0, message: String(err) };
}

interface TdlModule {
  configure(cfg: { tdjson: string; verbosityLevel?: number }): void;
  execute(request: TdObject): TdObject | null;
  createClient(opts: Record<string, unknown>): {
    invoke(request: TdObject): Promise<TdObject>;
    on(event: 'update', listener: (u: TdObject) => void): unknown;
    off(event: 'update', listener: (u: TdObject) => void): unknown;
    close(): Promise<void>;
  };
}

let configured: Promise<TdlModule> | null = null;

/**
 * The packages are not dependencies of the connector: `prebuilt-tdlib` lists one optional
 * package per platform, and a registry that lacks any of them makes `npm ci` fail for everyone.
 * Whoever runs TDLib accounts installs them (`npm install tdl prebuilt-tdlib`); the names
 * are variables so the type checker does not need them.
 */
const TDL_PACKAGE = 'tdl';
const TDJSON_PACKAGE = 'prebuilt-tdlib';

/** Loads tdl and points it at the bundled tdjson (once per process). */
async function loadTdl(): Promise<TdlModule> {
  configured ??= (async () => {
    const tdl = (await import(TDL_PACKAGE).catch(() => {
      throw new Error('TDLib is not installed: run "npm install tdl prebuilt-tdlib" in the connector folder.');
    })) as TdlModule;
    const { getTdjson } = (await import(TDJSON_PACKAGE)) as { getTdjson: () => string };
    tdl.configure({ tdjson: getTdjson(), verbosityLevel: 0 });
    return tdl;
  })();
  return configured;
}

/** TDLib's version, asked of the native library without any network (`getOption version`). */
export async function tdlibVersion(): Promise<string> {
  const tdl = await loadTdl();
  const r = tdl.execute({ _: 'getOption', name: 'version' });
  if (!r || r._ !== 'optionValueString' || typeof r.value !== 'string') throw new Error('TDLib did not tell its version');
  return r.value;
}

/** A real TDLib client for one user account. */
export async function createTdlibClient(o: TdlibClientOptions): Promise<TdClient> {
  const tdl = await loadTdl();
  const client = tdl.createClient({
    apiId: o.apiId,
    apiHash: o.apiHash,
    databaseDirectory: o.databaseDirectory,
    filesDirectory: o.filesDirectory,
    databaseEncryptionKey: o.databaseEncryptionKey,
  });
  return {
    invoke: (r) => client.invoke(r),
    onUpdate: (listener) => {
      client.on('update', listener);
      return () => void client.off('update', listener);
    },
    close: () => client.close(),
  };
}
