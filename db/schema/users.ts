import { pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, id } from "./columns";

/** A person, global across tenants (one Auth0 subject); tenants see them through memberships. */
export const users = pgTable("users", {
  id: id(),
  authSubject: text("auth_subject").notNull().unique(),
  email: text("email").notNull(),
  name: text("name"),
  createdAt: createdAt(),
});

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
