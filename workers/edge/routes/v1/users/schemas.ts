import { updateUserInput, userDto } from "../../../../../core/access/schemas";

export const userSchema = userDto.openapi("User");
export const updateUserSchema = updateUserInput.openapi("UpdateUser");
