import { createInvitationInput, invitationDto } from "../../../../../core/access/schemas";

export const invitationSchema = invitationDto.openapi("Invitation");
export const createInvitationSchema = createInvitationInput.openapi("CreateInvitation");
