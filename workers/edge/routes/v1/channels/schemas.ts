import {
  channelDto,
  channelTemplates,
  channelTestResult,
  connectChannelInput,
  updateChannelInput,
} from "../../../../../core/channels/schemas";

/** The core schemas, named for the OpenAPI document. */
export const channelSchema = channelDto.openapi("Channel");
export const connectChannelSchema = connectChannelInput.openapi("ConnectChannel");
export const updateChannelSchema = updateChannelInput.openapi("UpdateChannel");
export const channelTestSchema = channelTestResult.openapi("ChannelTest");
export const channelTemplatesSchema = channelTemplates.openapi("ChannelTemplates");
