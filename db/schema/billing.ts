import { bigint, index, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { id, tenantId, timestamps } from "./columns";

export type UsageReportStatus = "pending" | "reported" | "failed";

/**
 * One period of a tenant's usage reported to a Stripe billing meter (the platform's own account).
 * The row is written before Stripe is called, with the identifier Stripe deduplicates on
 * (`<tenant>:<meter>:<period>`), so a report retried after a crash sends the same identifier and
 * is never billed twice.
 */
export const usageReports = pgTable(
  "usage_reports",
  {
    id: id(),
    tenantId: tenantId(),
    /** The meter's event name at Stripe. */
    meter: text("meter").notNull(),
    /** The UTC day reported. */
    periodStart: timestamp("period_start", { withTimezone: true }).notNull(),
    quantity: bigint("quantity", { mode: "number" }).notNull(),
    identifier: text("identifier").notNull().unique(),
    status: text("status").$type<UsageReportStatus>().notNull().default("pending"),
    error: text("error"),
    reportedAt: timestamp("reported_at", { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex("usage_reports_period_idx").on(t.tenantId, t.meter, t.periodStart),
    index("usage_reports_status_idx").on(t.tenantId, t.status),
  ],
);

export type UsageReport = typeof usageReports.$inferSelect;
