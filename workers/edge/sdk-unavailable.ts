/**
 * What the edge bundle gets instead of the integrations' and Twilio's Node SDKs (`@hubspot/api-client`,
 * `jsforce`, `stripe`, `twilio`; see `[alias]` in wrangler.toml). SMS replies are sent by the pool. The edge connects, tests and revokes
 * integrations with plain `fetch` (core/integrations/<provider>/index.ts); only the pool builds SDK
 * clients, for the agents' tools. Aliasing keeps about 13 MB of SDK code out of the Worker, and a
 * call that reaches here by mistake fails loudly instead of half-working in workerd.
 */
function unavailable(): never {
  throw new Error("The integrations' SDK clients run in the pool, not on the edge.");
}

export class Client {
  constructor() {
    unavailable();
  }
}
export class Connection {
  constructor() {
    unavailable();
  }
}
export default class Stripe {
  constructor() {
    unavailable();
  }
}
