import type { Client } from "@hubspot/api-client";
import { z } from "zod";
import type { IntegrationTool, IntegrationToolContext, Transcript } from "../types";

/** HubSpot's own association type ids (HUBSPOT_DEFINED) from a new record to a contact. */
const TO_CONTACT = { ticket: 16, note: 202, deal: 3 } as const;
const CONTACT_PROPERTIES = ["email", "phone", "firstname", "lastname", "company"];

const email = z.email().max(254);
const phone = z
  .string()
  .trim()
  .regex(/^\+?[0-9 ()-]{6,20}$/, "a phone number");
const contactId = z.string().regex(/^[0-9]{1,20}$/, "a HubSpot contact id");

const association = (id: string, typeId: number) => [
  { to: { id }, types: [{ associationCategory: "HUBSPOT_DEFINED" as never, associationTypeId: typeId }] },
];

interface Contact {
  id: string;
  properties: Record<string, string | null | undefined>;
}

const describeContact = (contact: Contact) => {
  const p = contact.properties;
  const name = [p.firstname, p.lastname].filter(Boolean).join(" ");
  return `contact ${contact.id}${name ? `: ${name}` : ""}${p.email ? `, ${p.email}` : ""}${p.phone ? `, ${p.phone}` : ""}${p.company ? `, ${p.company}` : ""}`;
};

/** Contacts by exact email or phone (the given ones, else the person's channel identity), else by free text. */
async function findContacts(client: Client, args: { email?: string; phone?: string; query?: string }, context: IntegrationToolContext) {
  const byEmail = args.email ?? (args.query ? undefined : context.endUser.email);
  const byPhone = args.phone ?? (args.query || byEmail ? undefined : context.endUser.phone);
  const filters = byEmail
    ? [{ propertyName: "email", operator: "EQ" as never, value: byEmail }]
    : byPhone
      ? [{ propertyName: "phone", operator: "EQ" as never, value: byPhone }]
      : undefined;
  if (!filters && !args.query) return { searched: "", results: [] as Contact[] };
  const found = await client.crm.contacts.searchApi.doSearch({
    ...(filters ? { filterGroups: [{ filters }] } : { query: args.query! }),
    properties: CONTACT_PROPERTIES,
    limit: 5,
  });
  return { searched: byEmail ?? byPhone ?? args.query!, results: found.results as Contact[] };
}

const findContact: IntegrationTool<Client> = {
  name: "find_contact",
  description:
    "Find a contact in the CRM (HubSpot) by email or phone; with neither, by the person's own email or phone on this channel, or by a name in `query`.",
  schema: z.object({ email: email.optional(), phone: phone.optional(), query: z.string().trim().min(2).max(100).optional() }),
  async run(client, args, context) {
    const { searched, results } = await findContacts(client, args as { email?: string; phone?: string; query?: string }, context);
    if (!searched) return { text: "Nothing to search by: ask the person for their email address or phone number." };
    if (results.length === 0) return { text: `No contact found for ${searched}.` };
    return { text: results.map(describeContact).join("\n"), refs: results.map((c) => `contact ${c.id}`) };
  },
};

const saveContact: IntegrationTool<Client> = {
  name: "save_contact",
  description:
    "Create a contact in the CRM (HubSpot), or update it when one with the same email exists (or `contactId` is given). Email and phone default to the person's own on this channel.",
  schema: z.object({
    contactId: contactId.optional(),
    email: email.optional(),
    phone: phone.optional(),
    firstName: z.string().trim().min(1).max(100).optional(),
    lastName: z.string().trim().min(1).max(100).optional(),
    company: z.string().trim().min(1).max(200).optional(),
  }),
  async run(client, args, context) {
    const input = args as { contactId?: string; email?: string; phone?: string; firstName?: string; lastName?: string; company?: string };
    const properties = Object.fromEntries(
      Object.entries({
        email: input.email ?? context.endUser.email,
        phone: input.phone ?? context.endUser.phone,
        firstname: input.firstName,
        lastname: input.lastName,
        company: input.company,
      }).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
    );
    if (!properties.email && !properties.phone && !input.contactId)
      return { text: "Not saved: a contact needs an email address or a phone number." };
    const existingId =
      input.contactId ?? (properties.email ? (await findContacts(client, { email: properties.email }, context)).results[0]?.id : undefined);
    if (existingId) {
      const updated = await client.crm.contacts.basicApi.update(existingId, { properties });
      return { text: `Updated ${describeContact(updated as Contact)}.`, refs: [`contact ${updated.id}`] };
    }
    const created = await client.crm.contacts.basicApi.create({ properties, associations: [] });
    return { text: `Created ${describeContact(created as Contact)}.`, refs: [`contact ${created.id}`] };
  },
};

const createTicket: IntegrationTool<Client> = {
  name: "create_ticket",
  description: "Open a support ticket in HubSpot, linked to a contact when `contactId` is known (find or save the contact first).",
  schema: z.object({
    subject: z.string().trim().min(3).max(200),
    description: z.string().trim().min(1).max(5000),
    priority: z.enum(["LOW", "MEDIUM", "HIGH"]).optional(),
    contactId: contactId.optional(),
  }),
  async run(client, args) {
    const input = args as { subject: string; description: string; priority?: string; contactId?: string };
    const ticket = await client.crm.tickets.basicApi.create({
      properties: {
        subject: input.subject,
        content: input.description,
        // HubSpot's default support pipeline and its first stage ("New").
        hs_pipeline: "0",
        hs_pipeline_stage: "1",
        ...(input.priority ? { hs_ticket_priority: input.priority } : {}),
      },
      associations: input.contactId ? association(input.contactId, TO_CONTACT.ticket) : [],
    });
    return { text: `Opened ticket ${ticket.id}: "${input.subject}".`, refs: [`ticket ${ticket.id}`] };
  },
};

const addNote: IntegrationTool<Client> = {
  name: "add_note",
  description: "Add a note to a HubSpot contact's timeline (what the person asked for, a promise made).",
  schema: z.object({ contactId, text: z.string().trim().min(1).max(5000) }),
  async run(client, args) {
    const input = args as { contactId: string; text: string };
    const note = await client.crm.objects.notes.basicApi.create({
      properties: { hs_note_body: input.text, hs_timestamp: new Date().toISOString() },
      associations: association(input.contactId, TO_CONTACT.note),
    });
    return { text: `Added note ${note.id} to contact ${input.contactId}.`, refs: [`note ${note.id}`] };
  },
};

const createDeal: IntegrationTool<Client> = {
  name: "create_deal",
  description: "Create a deal in HubSpot's default pipeline, linked to a contact when `contactId` is known.",
  schema: z.object({
    name: z.string().trim().min(2).max(200),
    amount: z.number().nonnegative().max(1e9).optional(),
    contactId: contactId.optional(),
  }),
  async run(client, args) {
    const input = args as { name: string; amount?: number; contactId?: string };
    const deal = await client.crm.deals.basicApi.create({
      properties: {
        dealname: input.name,
        pipeline: "default",
        dealstage: "appointmentscheduled",
        ...(input.amount !== undefined ? { amount: String(input.amount) } : {}),
      },
      associations: input.contactId ? association(input.contactId, TO_CONTACT.deal) : [],
    });
    return { text: `Created deal ${deal.id}: "${input.name}".`, refs: [`deal ${deal.id}`] };
  },
};

export const hubspotTools: ReadonlyArray<IntegrationTool<Client>> = [findContact, saveContact, createTicket, addNote, createDeal];

/**
 * The transcript as a note on the person's contact: found by email, else phone; created from the
 * channel identity when there is none yet. Nothing is written for a person the channel does not
 * identify (Telegram, web chat).
 */
export async function logHubSpotTranscript(client: Client, transcript: Transcript) {
  const { email, phone, name } = transcript.endUser;
  if (!email && !phone) return { written: false, text: "The channel gives no email or phone to find the person by." };
  const context: IntegrationToolContext = { tenantId: "", conversationId: transcript.conversationId, endUser: transcript.endUser };
  let contactId = (await findContacts(client, {}, context)).results[0]?.id;
  if (!contactId) {
    const [firstname, ...rest] = (name ?? "").split(" ").filter(Boolean);
    const created = await client.crm.contacts.basicApi.create({
      properties: Object.fromEntries(
        Object.entries({ email, phone, firstname, lastname: rest.join(" ") || undefined }).filter((e): e is [string, string] =>
          Boolean(e[1]),
        ),
      ),
      associations: [],
    });
    contactId = created.id;
  }
  const body = [
    `<p><strong>${escapeHtml(transcript.subject)}</strong></p>`,
    ...transcript.lines.map((line) => `<p>${escapeHtml(line)}</p>`),
  ].join("");
  const note = await client.crm.objects.notes.basicApi.create({
    properties: { hs_note_body: body, hs_timestamp: new Date().toISOString() },
    associations: association(contactId, TO_CONTACT.note),
  });
  return { written: true, text: `Logged the conversation as note ${note.id} on contact ${contactId}.`, refs: [`note ${note.id}`] };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
