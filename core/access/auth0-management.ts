import { ManagementClient, ManagementError } from "auth0";
import { DomainError, UnavailableError } from "../errors";

/**
 * What the platform asks of Auth0's Management API, through the official `auth0` SDK: the
 * organisations behind self-service sign-up, their members, organisation invitations, and a fresh
 * look at a user's verified email. One client per isolate (the SDK caches its client-credentials
 * token inside).
 */
export interface Auth0Management {
  /** A new organisation; its `name` is made unique with a suffix when Auth0 answers 409. */
  createOrganization(input: { name: string; displayName: string }): Promise<{ id: string; name: string }>;
  deleteOrganization(orgId: string): Promise<void>;
  addMember(orgId: string, userId: string): Promise<void>;
  /** The user as Auth0 knows them now (the access token's `email_verified` may be older). */
  getUser(userId: string): Promise<{ email?: string; emailVerified: boolean; name?: string }>;
  /** Auth0 sends the user its verification email again. */
  sendVerificationEmail(userId: string): Promise<void>;
  /** Auth0 emails the invitee a link to the console's login with the organisation and invitation. */
  invite(orgId: string, input: { email: string; inviterName: string; ttlSeconds: number }): Promise<{ id: string; invitationUrl?: string }>;
  /** Withdraws an invitation; one Auth0 no longer has is already gone. */
  deleteInvitation(orgId: string, invitationId: string): Promise<void>;
}

export interface Auth0ManagementOptions {
  /** The tenant's domain, `acme.eu.auth0.com` (host of AUTH0_ISSUER). */
  domain: string;
  /** A machine-to-machine application authorised for the Management API. */
  clientId: string;
  clientSecret: string;
  /** The console's (SPA) application: invitations send people to its login. */
  consoleClientId: string;
  /** The connection new organisations enable (the database or social connection people sign in with). */
  connectionId?: string;
  /** Where `https://<domain>` is reached instead (a loopback fake in tests). */
  baseUrl?: string;
  fetch?: typeof fetch;
}

/** Auth0 organisation names: lowercase letters, digits, `-` and `_`, at most 50 characters. */
export function organizationNameOf(slug: string, suffix?: string): string {
  const base = slug
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .slice(0, suffix ? 49 - suffix.length : 50);
  return suffix ? `${base}-${suffix}` : base;
}

/**
 * @example
 * const auth0 = createAuth0Management({ domain: "acme.eu.auth0.com", clientId, clientSecret, consoleClientId });
 * const org = await auth0.createOrganization({ name: "acme", displayName: "Acme" });
 */
export function createAuth0Management(options: Auth0ManagementOptions): Auth0Management {
  const origin = `https://${options.domain}`;
  const baseFetch = options.fetch ?? ((input, init) => fetch(input, init));
  // The SDK builds every URL (the token endpoint's too) from `https://<domain>`; the only seam for
  // another base is its `fetch` option, so that is where the configured base replaces the origin.
  const routed: typeof fetch =
    options.baseUrl === undefined
      ? baseFetch
      : (input, init) => {
          const url = input instanceof Request ? input.url : String(input);
          const target = url.startsWith(origin) ? `${options.baseUrl!.replace(/\/+$/, "")}${url.slice(origin.length)}` : url;
          return baseFetch(input instanceof Request ? new Request(target, input) : target, init);
        };
  const client = new ManagementClient({
    domain: options.domain,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    fetch: routed,
    maxRetries: 2,
    timeoutInSeconds: 10,
  });

  return {
    async createOrganization({ name, displayName }) {
      for (let attempt = 0; attempt < 4; attempt++) {
        const candidate = attempt === 0 ? organizationNameOf(name) : organizationNameOf(name, crypto.randomUUID().slice(0, 6));
        try {
          const org = await call(() =>
            client.organizations.create({
              name: candidate,
              display_name: displayName,
              ...(options.connectionId
                ? { enabled_connections: [{ connection_id: options.connectionId, assign_membership_on_login: false }] }
                : {}),
            }),
          );
          return { id: org.id!, name: org.name ?? candidate };
        } catch (error) {
          if (!(error instanceof Auth0Conflict)) throw error;
        }
      }
      throw new DomainError("SLUG_TAKEN", 409, "Choose another name for the tenant.");
    },
    async deleteOrganization(orgId) {
      await call(() => client.organizations.delete(orgId), { notFoundIsDone: true });
    },
    async addMember(orgId, userId) {
      await call(() => client.organizations.members.create(orgId, { members: [userId] }));
    },
    async getUser(userId) {
      const user = await call(() => client.users.get(userId));
      return {
        ...(user.email ? { email: user.email } : {}),
        emailVerified: user.email_verified === true,
        ...(user.name ? { name: user.name } : {}),
      };
    },
    async sendVerificationEmail(userId) {
      await call(() => client.jobs.verificationEmail.create({ user_id: userId, client_id: options.consoleClientId }));
    },
    async invite(orgId, { email, inviterName, ttlSeconds }) {
      const invitation = await call(() =>
        client.organizations.invitations.create(orgId, {
          inviter: { name: inviterName },
          invitee: { email },
          client_id: options.consoleClientId,
          ...(options.connectionId ? { connection_id: options.connectionId } : {}),
          ttl_sec: Math.min(ttlSeconds, 2_592_000),
          send_invitation_email: true,
        }),
      );
      return { id: invitation.id!, ...(invitation.invitation_url ? { invitationUrl: invitation.invitation_url } : {}) };
    },
    async deleteInvitation(orgId, invitationId) {
      await call(() => client.organizations.invitations.delete(orgId, invitationId), { notFoundIsDone: true });
    },
  };
}

class Auth0Conflict extends Error {}

/**
 * One Management API call: a 409 is {@link Auth0Conflict} for the caller to handle, a 404 may
 * mean done, and anything else (Auth0 down, rate-limited after the SDK's retries, our credentials
 * refused) is a 503: never the caller's mistake, and never the SDK's message, which can quote
 * Auth0's answer.
 */
async function call<T>(run: () => Promise<T>, options: { notFoundIsDone?: boolean } = {}): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ManagementError) {
      if (error.statusCode === 409) throw new Auth0Conflict("conflict", { cause: error });
      if (error.statusCode === 404 && options.notFoundIsDone) return undefined as T;
    }
    throw new UnavailableError("AUTH0_UNAVAILABLE", "Auth0 could not be reached; try again in a minute.");
  }
}
