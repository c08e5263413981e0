import { apiKeyDto, createApiKeyInput, createdApiKeyDto } from "../../../../../core/access/schemas";

export const apiKeySchema = apiKeyDto.openapi("ApiKey");
export const createApiKeySchema = createApiKeyInput.openapi("CreateApiKey");
export const createdApiKeySchema = createdApiKeyDto.openapi("CreatedApiKey");
