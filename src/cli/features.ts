/**
 * The feature modules of the product, in the order they start. Each is built from the
 * connector's services by its own module (each names the services it needs:
 * src/features/feature-contract.ts); they meet only through the bus and the installers there.
 */
import { observed, type FeatureModule } from '../features/feature-contract.ts';
import { operatorsFeature, type OperatorsFeature } from '../operators/operators-feature.ts';
import { opsFeature } from '../ops/ops-feature.ts';
import { outboundFeature } from '../outbound/outbound-feature.ts';
import type { OutboundService } from '../outbound/outbound-service.ts';
import { settingsFeature, type SettingsFeatureOptions } from '../settings/settings-feature.ts';
import { panelFeature } from '../panel/panel-feature.ts';

export function productFeatures(
  o: {
    defaultGroup?: string;
    /** Tests and the soak: the clock and check intervals of the settings feature. */
    settings?: Pick<SettingsFeatureOptions, 'now' | 'allBusyCheckMs' | 'assignCheckMs'>;
  } = {},
): FeatureModule[] {
  // Operators before outbound: routing subscribes to "outbound.accepted" to claim owners.
  // Auto-replies (settings) are accepted by the outbound service itself, as `system`.
  let outbound: OutboundService | null = null;
  // The duty operator/group (settings) decides where new chats go inside routing (operators).
  let operators: OperatorsFeature | null = null;
  return [
    observed(operatorsFeature({ defaultGroup: o.defaultGroup }), (f) => {
      operators = f;
    }),
    outboundFeature({ onService: (s) => (outbound = s) }),
    settingsFeature({
      ...o.settings,
      submit: () => {
        const service = outbound;
        return service ? (m) => service.submit(m) : null;
      },
      routing: () => {
        const f = operators;
        if (!f) return null;
        return {
          presence: f.store,
          routing: f.routing,
          setNewChatTarget: (fn) => {
            f.routing.newChatTarget = fn;
          },
        };
      },
    }),
    panelFeature(),
    opsFeature(),
  ];
}
