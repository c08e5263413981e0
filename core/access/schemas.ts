import { z } from "zod";
import { ALL_PERMISSIONS, type Permission } from "./permissions";

/**
 * The shapes the access verbs take and return. One definition: the edge registers these same
 * schemas in the OpenAPI document, so the document cannot drift from what the verbs do.
 */
export const permission = z.enum(ALL_PERMISSIONS as [Permission, ...Permission[]]);

export const roleRef = z.object({ id: z.uuid(), name: z.string() });

export const roleDto = z.object({
  id: z.uuid(),
  name: z.string(),
  builtin: z.boolean(),
  /** For built-in roles, what the code grants today. */
  permissions: z.array(permission),
  createdAt: z.string(),
});
export type RoleDto = z.infer<typeof roleDto>;

export const roleName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  // No control characters; any script is fine (the OpenAPI pattern cannot carry a /u flag).
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]+$/, "no control characters");

export const createRoleInput = z.object({
  name: roleName,
  permissions: z.array(permission).max(ALL_PERMISSIONS.length),
});
export const updateRoleInput = createRoleInput.partial();

export const userDto = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  role: roleRef,
  joinedAt: z.string(),
});
export type UserDto = z.infer<typeof userDto>;
export const updateUserInput = z.object({ roleId: z.uuid().optional() });

export const invitationDto = z.object({
  id: z.uuid(),
  email: z.string(),
  role: roleRef,
  status: z.enum(["pending", "accepted", "expired"]),
  createdAt: z.string(),
  expiresAt: z.string(),
  acceptedAt: z.string().nullable(),
  /** Auth0 emailed the invitee an organisation invitation. */
  emailed: z.boolean(),
  /**
   * Without Auth0: the one-time link that accepts the invitation, in the answer to its creation
   * only (it is stored as a hash); hand it to the invitee.
   */
  acceptUrl: z.string().optional(),
});
export type InvitationDto = z.infer<typeof invitationDto>;
export const createInvitationInput = z.object({
  email: z.email().max(254),
  roleId: z.uuid(),
  /** Days until the invitation lapses; default 14. */
  expiresInDays: z.number().int().min(1).max(90).optional(),
});

export const apiKeyDto = z.object({
  id: z.uuid(),
  name: z.string(),
  /** `ak_<public id>_…`: recognisable, not usable. */
  prefix: z.string(),
  role: roleRef,
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKeyDto = z.infer<typeof apiKeyDto>;
export const createApiKeyInput = z.object({ name: z.string().trim().min(1).max(100), roleId: z.uuid() });
export const createdApiKeyDto = apiKeyDto.extend({
  /** The key itself. Shown in this response only; store it now. */
  key: z.string(),
});

export const auditRecordDto = z.object({
  id: z.uuid(),
  actor: z.object({ type: z.enum(["user", "api_key", "system"]), id: z.string() }),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string().nullable(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().nullable(),
  createdAt: z.string(),
});
export type AuditRecordDto = z.infer<typeof auditRecordDto>;

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().max(512).optional(),
});
export type PageQuery = z.infer<typeof pageQuery>;

export const auditQuery = pageQuery.extend({
  resourceType: z.string().max(64).optional(),
  resourceId: z.string().max(128).optional(),
  action: z.string().max(64).optional(),
});

export const meDto = z.object({
  tenantId: z.uuid(),
  actor: z.object({ type: z.enum(["user", "api_key", "system"]), id: z.string() }),
  role: roleRef,
  permissions: z.array(permission),
});

export const iso = (value: Date | string | null | undefined): string | null =>
  value == null ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString();
