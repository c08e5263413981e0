import type { Connection } from "jsforce";
import { z } from "zod";
import { ProviderError, type IntegrationTool, type IntegrationToolContext, type Transcript } from "../types";

const email = z.email().max(254);
const phone = z
  .string()
  .trim()
  .regex(/^\+?[0-9 ()-]{6,20}$/, "a phone number");
const recordId = z.string().regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/, "a Salesforce record id");

interface Person {
  Id: string;
  Name?: string;
  Email?: string | null;
  Phone?: string | null;
  Company?: string | null;
}

/**
 * Contacts, then leads, with this email or phone. jsforce builds the SOQL from the conditions
 * object and quotes each value itself (no user text is concatenated into a query).
 */
async function findPeople(conn: Connection, by: { Email: string } | { Phone: string }) {
  const contacts = (await conn.sobject("Contact").find(by, ["Id", "Name", "Email", "Phone"]).limit(5).execute()) as Person[];
  const leads = (await conn.sobject("Lead").find(by, ["Id", "Name", "Email", "Phone", "Company"]).limit(5).execute()) as Person[];
  return [...contacts.map((p) => ({ kind: "contact" as const, ...p })), ...leads.map((p) => ({ kind: "lead" as const, ...p }))];
}

function searchKey(args: { email?: string; phone?: string }, context: IntegrationToolContext) {
  const byEmail = args.email ?? (args.phone ? undefined : context.endUser.email);
  if (byEmail) return { Email: byEmail };
  const byPhone = args.phone ?? context.endUser.phone;
  return byPhone ? { Phone: byPhone } : undefined;
}

/** A record created, or the provider's reasons it was not. */
function created(kind: string, result: { id?: string; success?: boolean; errors?: Array<{ message?: string } | string> }) {
  if (!result.success || !result.id) {
    const reasons = (result.errors ?? []).map((e) => (typeof e === "string" ? e : (e.message ?? ""))).join("; ");
    throw new ProviderError(`Salesforce did not create the ${kind}${reasons ? `: ${reasons}` : "."}`, 400);
  }
  return result.id;
}

const findPerson: IntegrationTool<Connection> = {
  name: "find_person",
  description: "Find a contact or lead in Salesforce by email or phone; with neither, by the person's own email or phone on this channel.",
  schema: z.object({ email: email.optional(), phone: phone.optional() }),
  async run(conn, args, context) {
    const key = searchKey(args as { email?: string; phone?: string }, context);
    if (!key) return { text: "Nothing to search by: ask the person for their email address or phone number." };
    const people = await findPeople(conn, key);
    const searched = Object.values(key)[0];
    if (people.length === 0) return { text: `No contact or lead found for ${searched}.` };
    return {
      text: people
        .map((p) => `${p.kind} ${p.Id}: ${p.Name ?? "(no name)"}${p.Email ? `, ${p.Email}` : ""}${p.Phone ? `, ${p.Phone}` : ""}`)
        .join("\n"),
      refs: people.map((p) => `${p.kind} ${p.Id}`),
    };
  },
};

const createLead: IntegrationTool<Connection> = {
  name: "create_lead",
  description: "Create a lead in Salesforce for a new prospect. Email and phone default to the person's own on this channel.",
  schema: z.object({
    lastName: z.string().trim().min(1).max(80),
    firstName: z.string().trim().min(1).max(40).optional(),
    company: z.string().trim().min(1).max(255),
    email: email.optional(),
    phone: phone.optional(),
    description: z.string().trim().max(2000).optional(),
  }),
  async run(conn, args, context) {
    const input = args as { lastName: string; firstName?: string; company: string; email?: string; phone?: string; description?: string };
    const record = Object.fromEntries(
      Object.entries({
        LastName: input.lastName,
        FirstName: input.firstName,
        Company: input.company,
        Email: input.email ?? context.endUser.email,
        Phone: input.phone ?? context.endUser.phone,
        Description: input.description,
        LeadSource: "Chat",
      }).filter(([, value]) => value !== undefined),
    );
    const id = created("lead", await conn.sobject("Lead").create(record));
    return {
      text: `Created lead ${id} for ${input.firstName ? `${input.firstName} ` : ""}${input.lastName} (${input.company}).`,
      refs: [`lead ${id}`],
    };
  },
};

const createCase: IntegrationTool<Connection> = {
  name: "create_case",
  description: "Open a support case in Salesforce, linked to a contact when `contactId` is known (find the person first).",
  schema: z.object({
    subject: z.string().trim().min(3).max(255),
    description: z.string().trim().min(1).max(5000),
    priority: z.enum(["Low", "Medium", "High"]).optional(),
    contactId: recordId.optional(),
  }),
  async run(conn, args) {
    const input = args as { subject: string; description: string; priority?: string; contactId?: string };
    const id = created(
      "case",
      await conn.sobject("Case").create({
        Subject: input.subject,
        Description: input.description,
        Origin: "Chat",
        ...(input.priority ? { Priority: input.priority } : {}),
        ...(input.contactId ? { ContactId: input.contactId } : {}),
      }),
    );
    return { text: `Opened case ${id}: "${input.subject}".`, refs: [`case ${id}`] };
  },
};

const logTask: IntegrationTool<Connection> = {
  name: "log_task",
  description: "Log a completed task (what was discussed or promised) on a Salesforce contact or lead.",
  schema: z.object({ whoId: recordId, subject: z.string().trim().min(3).max(255), description: z.string().trim().max(30_000).optional() }),
  async run(conn, args) {
    const input = args as { whoId: string; subject: string; description?: string };
    const id = created(
      "task",
      await conn.sobject("Task").create({
        WhoId: input.whoId,
        Subject: input.subject,
        Status: "Completed",
        ActivityDate: new Date().toISOString().slice(0, 10),
        ...(input.description ? { Description: input.description } : {}),
      }),
    );
    return { text: `Logged task ${id} on ${input.whoId}.`, refs: [`task ${id}`] };
  },
};

export const salesforceTools: ReadonlyArray<IntegrationTool<Connection>> = [findPerson, createLead, createCase, logTask];

/** The transcript as a completed task on the person (a contact, else a lead) found by email, else phone. */
export async function logSalesforceTranscript(conn: Connection, transcript: Transcript) {
  const context: IntegrationToolContext = { tenantId: "", conversationId: transcript.conversationId, endUser: transcript.endUser };
  const key = searchKey({}, context);
  if (!key) return { written: false, text: "The channel gives no email or phone to find the person by." };
  const [person] = await findPeople(conn, key);
  if (!person) return { written: false, text: `No contact or lead has ${Object.values(key)[0]}.` };
  const id = created(
    "task",
    await conn.sobject("Task").create({
      WhoId: person.Id,
      Subject: transcript.subject.slice(0, 255),
      Status: "Completed",
      ActivityDate: new Date().toISOString().slice(0, 10),
      Description: transcript.lines.join("\n").slice(0, 32_000),
    }),
  );
  return { written: true, text: `Logged the conversation as task ${id} on ${person.kind} ${person.Id}.`, refs: [`task ${id}`] };
}
