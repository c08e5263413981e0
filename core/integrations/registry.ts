import { hubspot } from "./hubspot";
import { salesforce } from "./salesforce";
import { stripe } from "./stripe";
import { PROVIDER_IDS, type IntegrationProvider, type ProviderId } from "./types";

/**
 * The integrations catalogue: provider id → provider. The one place providers are registered; the
 * admin API, the OAuth callback, the pool's tools and refresh all read it.
 */
export const INTEGRATIONS: { readonly [P in ProviderId]: IntegrationProvider } = {
  hubspot: erased(hubspot),
  salesforce: erased(salesforce),
  stripe: erased(stripe),
};

/** A provider with its SDK client type erased: the client only ever travels from its own `client()` to its own tools. */
function erased<Client>(provider: IntegrationProvider<Client>): IntegrationProvider {
  return provider as unknown as IntegrationProvider;
}

export function isProviderId(value: string): value is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(value);
}

export function integrationProvider(id: ProviderId): IntegrationProvider {
  return INTEGRATIONS[id];
}

/** Every tool an agent may enable, as `<provider>.<tool>`. */
export const INTEGRATION_TOOL_NAMES: readonly string[] = PROVIDER_IDS.flatMap((id) => INTEGRATIONS[id].tools.map((t) => `${id}.${t.name}`));

/** `hubspot.find_contact` → the provider and its tool; undefined for an unknown name. */
export function integrationTool(qualified: string) {
  const [providerId, name] = qualified.split(".");
  if (!providerId || !name || !isProviderId(providerId)) return undefined;
  const provider = integrationProvider(providerId);
  const tool = provider.tools.find((t) => t.name === name);
  return tool ? { provider, tool } : undefined;
}
