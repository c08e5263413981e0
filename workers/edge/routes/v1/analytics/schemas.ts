import {
  analyticsRange,
  budgetDto,
  modelUsageDto,
  summaryDto,
  timeseriesDto,
  timeseriesQuery,
  toolUsageDto,
} from "../../../../../core/analytics/schemas";

/** The core schemas, named for the OpenAPI document. */
export const rangeQuery = analyticsRange;
export const seriesQuery = timeseriesQuery;
export const summarySchema = summaryDto.openapi("AnalyticsSummary");
export const timeseriesSchema = timeseriesDto.openapi("AnalyticsTimeseries");
export const modelUsageSchema = modelUsageDto.openapi("AnalyticsModels");
export const toolUsageSchema = toolUsageDto.openapi("AnalyticsTools");
export const budgetSchema = budgetDto.openapi("AnalyticsBudget");
