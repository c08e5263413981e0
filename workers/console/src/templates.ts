import type { Schemas } from "./api/client";
import type { MessageKey } from "./i18n/catalogue";

/** Starting points for a new agent (the first-run wizard and "new agent"); everything stays editable. */
export interface AgentTemplate {
  id: "support" | "leads" | "booking";
  title: MessageKey;
  summary: MessageKey;
  agent: Schemas["CreateAgent"];
}

export const AGENT_TEMPLATES: AgentTemplate[] = [
  {
    id: "support",
    title: "template.support.title",
    summary: "template.support.summary",
    agent: {
      name: "Customer support",
      systemPrompt:
        "You are the support assistant of our business. Answer from the knowledge base and cite it; when it has no answer, say so " +
        "and offer to hand the conversation to a person. Answer in the customer's language, briefly and kindly.",
      temperature: 0.2,
    },
  },
  {
    id: "leads",
    title: "template.leads.title",
    summary: "template.leads.summary",
    agent: {
      name: "Lead qualification",
      systemPrompt:
        "You qualify new leads. Ask, one question at a time, for their name, company, email, need and timeline. Look the person up " +
        "in the CRM first and save what you learn there. Be warm and brief, and never promise prices.",
      temperature: 0.4,
      integrationTools: ["hubspot.find_contact", "hubspot.save_contact", "hubspot.add_note"],
    },
  },
  {
    id: "booking",
    title: "template.booking.title",
    summary: "template.booking.summary",
    agent: {
      name: "Appointment booking",
      systemPrompt:
        "You book appointments. Ask for the service, the preferred day and time and a contact, check the current date and time " +
        "before proposing a slot, repeat the booking back and ask the person to confirm it.",
      temperature: 0.3,
      builtinTools: ["current_time"],
    },
  },
];
