/**
 * The feature modules of the product, in the order they start. Each is built from the
 * connector's context by its own module; they meet only through the context and its bus.
 */
import type { ConnectorContext, ConnectorFeature } from '../connector.ts';
import { operatorsFeature } from '../operators/operators-feature.ts';
import { opsFeature } from '../ops/ops-feature.ts';
import { outboundFeature } from '../outbound/outbound-feature.ts';
import { panelFeature } from '../panel/panel-feature.ts';

export type FeatureFactory = (ctx: ConnectorContext) => ConnectorFeature | Promise<ConnectorFeature>;

export function productFeatures(o: { defaultGroup?: string } = {}): FeatureFactory[] {
  // Operators before outbound: routing subscribes to "outbound.accepted" to claim owners.
  return [operatorsFeature({ defaultGroup: o.defaultGroup }), outboundFeature(), panelFeature(), opsFeature()];
}
