import { DomainError } from "../errors";
/**
 * Permissions are `<module>:<action>`. Built-in roles take their permissions from this file, not
 * from the database, so a module added later reaches every tenant's admins and editors at once;
 * custom roles store theirs (validated against {@link ALL_PERMISSIONS}).
 */
/**
 * `contacts`: the end users' data (export, erasure); `billing`: the plan, checkout and invoices.
 * Both are admins' only among the built-in roles.
 */
export const MODULES = [
  "agents",
  "tools",
  "knowledge",
  "channels",
  "integrations",
  "users",
  "analytics",
  "settings",
  "contacts",
  "billing",
] as const;
export const ACTIONS = ["read", "write", "delete"] as const;

export type Module = (typeof MODULES)[number];
export type Action = (typeof ACTIONS)[number];
export type Permission = `${Module}:${Action}`;

export const ALL_PERMISSIONS: readonly Permission[] = MODULES.flatMap((module) => ACTIONS.map((action) => `${module}:${action}` as const));

const all = (module: Module): Permission[] => ACTIONS.map((action) => `${module}:${action}` as const);
const read = (module: Module): Permission => `${module}:read`;

export const BUILTIN_ROLES = ["admin", "editor", "viewer"] as const;
export type BuiltinRole = (typeof BUILTIN_ROLES)[number];

/**
 * admin: everything. editor: builds agents (agents, tools, knowledge, channels, integrations) and
 * reads analytics and settings, but manages no people, roles or keys. viewer: reads what an editor
 * builds, plus analytics and settings.
 */
export const BUILTIN_ROLE_PERMISSIONS: Record<BuiltinRole, readonly Permission[]> = {
  admin: ALL_PERMISSIONS,
  editor: [...(["agents", "tools", "knowledge", "channels", "integrations"] as const).flatMap(all), read("analytics"), read("settings")],
  viewer: [...(["agents", "tools", "knowledge", "channels", "integrations", "analytics", "settings"] as const).map(read)],
};

export function isPermission(value: unknown): value is Permission {
  return typeof value === "string" && (ALL_PERMISSIONS as readonly string[]).includes(value);
}

export function isBuiltinRole(name: string): name is BuiltinRole {
  return (BUILTIN_ROLES as readonly string[]).includes(name);
}

/** What a role may do: code for built-in roles, the stored list (unknown entries dropped) for custom ones. */
export function effectivePermissions(role: { name: string; builtin: boolean; permissions: unknown }): ReadonlySet<Permission> {
  if (role.builtin && isBuiltinRole(role.name)) return new Set(BUILTIN_ROLE_PERMISSIONS[role.name]);
  const stored = Array.isArray(role.permissions) ? role.permissions : [];
  return new Set(stored.filter(isPermission));
}

/** A caller tried something its role does not allow. */
export class PermissionDeniedError extends DomainError {
  constructor(readonly permission: Permission) {
    super("FORBIDDEN", 403, `This needs the ${permission} permission.`, { permission });
  }
}

/**
 * The first line of every verb: throws unless the caller holds `permission`.
 *
 * @example requirePermission(ctx, "users:write");
 */
export function requirePermission(ctx: { permissions: ReadonlySet<Permission> }, permission: Permission): void {
  if (!ctx.permissions.has(permission)) throw new PermissionDeniedError(permission);
}

/**
 * Nobody hands out more than they hold: granting a role (inviting, assigning, minting an API key,
 * editing a custom role) needs every permission of that role, so an actor with `users:write` but
 * not `settings:write` cannot make themselves an admin key.
 */
export function requireCanGrant(ctx: { permissions: ReadonlySet<Permission> }, granted: Iterable<Permission>): void {
  for (const permission of granted) if (!ctx.permissions.has(permission)) throw new PermissionDeniedError(permission);
}
