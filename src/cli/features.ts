/**
 * The feature modules of the product, in the order they start. Each is built from the
 * connector's context by its own module (outbound, operators, operations).
 */
import type { ConnectorContext, ConnectorFeature } from '../connector.ts';

export type FeatureFactory = (ctx: ConnectorContext) => ConnectorFeature | Promise<ConnectorFeature>;

export function productFeatures(): FeatureFactory[] {
  return [];
}
