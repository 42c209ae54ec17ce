/**
 * Pull mode's service behind `GET /api/v1/onec/updates` and `POST /api/v1/onec/ack`
 * (onec-pull.md): reads the update log, shapes updates as the contract fixes them, and on
 * ack sends the `rejected` message ids to `inbound-dead` exactly as a push-mode `rejected`
 * result does, before the pointer moves (a crash in between serves them again; the
 * dead-letter job id makes the second rejection a no-op).
 */
import type { InboundMessage } from '../core/index.ts';
import type { OnecPullRoutesDeps, PulledPage } from '../http/routes/onec-pull-routes.ts';
import type { InboundPipeline } from '../lanes/inbound-pipeline.js';
import { encodeCursor, type UpdateLog } from '../lanes/update-log.js';

/** Entries read per step while looking for rejected ids. */
const SCAN_PAGE = 1000;

export class OnecPullService implements OnecPullRoutesDeps {
  constructor(
    private readonly log: UpdateLog,
    private readonly inbound: Pick<InboundPipeline, 'rejectPulled'>,
  ) {}

  async fetch(q: { after: string | null; limit: number; waitMs: number; signal?: AbortSignal }): Promise<PulledPage> {
    const r = await this.log.fetch(q);
    // The payload is stored as the JSON text push mode would send; spliced in, not re-parsed.
    const updates = r.updates.map((u) => `{"cursor":"${encodeCursor(r.epoch, u.id)}","type":"${u.type}","${u.type}":${u.payload}}`);
    return { updates, next: r.next };
  }

  async ack(cursor: string, rejected: { id: string; error?: string | null }[]): Promise<number> {
    const { id, committed } = await this.log.resolve(cursor);
    if (rejected.length) {
      const want = new Map(rejected.map((r) => [r.id, r.error ?? null]));
      let after = committed;
      for (;;) {
        const page = await this.log.range(after, id, SCAN_PAGE);
        for (const u of page) {
          if (u.type !== 'message') continue;
          const m = JSON.parse(u.payload) as InboundMessage;
          if (want.has(m.id)) await this.inbound.rejectPulled(m, want.get(m.id) ?? null);
        }
        if (page.length < SCAN_PAGE) break;
        after = page[page.length - 1].id;
      }
    }
    return this.log.commit(id);
  }
}
