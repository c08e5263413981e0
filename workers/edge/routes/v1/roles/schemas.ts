import { createRoleInput, roleDto, updateRoleInput } from "../../../../../core/access/schemas";

/** The core schemas, named for the OpenAPI document. */
export const roleSchema = roleDto.openapi("Role");
export const createRoleSchema = createRoleInput.openapi("CreateRole");
export const updateRoleSchema = updateRoleInput.openapi("UpdateRole");
