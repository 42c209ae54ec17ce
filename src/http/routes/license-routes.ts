/**
 * `GET /api/v1/licenses`: the license report (licensing.md, "The license report").
 * Bearer auth is applied by the app (route auth `api`). Build `deps.report` with
 * `licenseReporter({ check: () => gate.state().document, seats })` from
 * src/licensing/license-report.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ConnectorError, describeError } from '../../core/index.ts';
import { errorResponses, objectReply, security } from '../route-schema.ts';

export interface LicenseRouteDeps {
  /** Builds the current report (fresh on each request). */
  report: () => Promise<unknown>;
}

export function licenseRoutes(deps: LicenseRouteDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/api/v1/licenses',
      {
        config: { auth: 'api' },
        schema: {
          summary: 'The license report (licensing.md)',
          tags: ['licenses'],
          security: security('api'),
          response: { 200: objectReply('Features, seats used/total and who holds them.'), ...errorResponses(401, 500) },
        },
      },
      async () => {
        try {
          return await deps.report();
        } catch (e) {
          if (e instanceof ConnectorError) throw e;
          throw new ConnectorError('license_report_failed', `The license report could not be built (${describeError(e)}).`, {
            httpStatus: 500,
            cause: e,
          });
        }
      },
    );
  };
}
