import type Stripe from "stripe";
import { z } from "zod";
import type { IntegrationTool } from "../types";

const money = (amount: number | null | undefined, currency: string | null | undefined) =>
  amount == null ? "?" : `${(amount / 100).toFixed(2)} ${(currency ?? "").toUpperCase()}`;

const customerId = z.string().regex(/^cus_[A-Za-z0-9]{6,}$/, "a Stripe customer id (cus_…)");

const findCustomer: IntegrationTool<Stripe> = {
  name: "find_customer",
  description: "Find the person's Stripe customer by email (their own email on this channel when none is given).",
  schema: z.object({ email: z.email().max(254).optional() }),
  async run(stripe, args, context) {
    const email = (args.email as string | undefined) ?? context.endUser.email;
    if (!email) return { text: "Nothing to search by: ask the person for the email address they pay with." };
    const found = await stripe.customers.list({ email, limit: 3 });
    if (found.data.length === 0) return { text: `No Stripe customer with the email ${email}.` };
    return {
      text: found.data.map((c) => `customer ${c.id}: ${c.name ?? "(no name)"}, ${c.email ?? email}`).join("\n"),
      refs: found.data.map((c) => `customer ${c.id}`),
    };
  },
};

const listInvoices: IntegrationTool<Stripe> = {
  name: "list_invoices",
  description: "List a Stripe customer's latest invoices with their amounts and payment status (find the customer first).",
  schema: z.object({ customerId, limit: z.number().int().min(1).max(20).optional() }),
  async run(stripe, args) {
    const input = args as { customerId: string; limit?: number };
    const invoices = await stripe.invoices.list({ customer: input.customerId, limit: input.limit ?? 5 });
    if (invoices.data.length === 0) return { text: `Customer ${input.customerId} has no invoices.` };
    return {
      text: invoices.data
        .map((invoice) => {
          const due = invoice.due_date ? `, due ${new Date(invoice.due_date * 1000).toISOString().slice(0, 10)}` : "";
          const paid =
            invoice.status === "paid"
              ? "paid"
              : `${invoice.status ?? "unknown"}, ${money(invoice.amount_remaining, invoice.currency)} outstanding`;
          return `invoice ${invoice.number ?? invoice.id}: ${money(invoice.total, invoice.currency)}, ${paid}${due}`;
        })
        .join("\n"),
      refs: invoices.data.map((invoice) => `invoice ${invoice.id}`),
    };
  },
};

const createPaymentLink: IntegrationTool<Stripe> = {
  name: "create_payment_link",
  description:
    "Create a Stripe payment link for a catalogue price (price_…) and quantity, to send to the person. The person is told when the payment arrives.",
  schema: z.object({
    priceId: z.string().regex(/^price_[A-Za-z0-9]{6,}$/, "a Stripe price id (price_…)"),
    quantity: z.number().int().min(1).max(100),
  }),
  requiresApproval: true,
  async run(stripe, args, context) {
    const input = args as { priceId: string; quantity: number };
    const link = await stripe.paymentLinks.create({
      line_items: [{ price: input.priceId, quantity: input.quantity }],
      // How a later checkout.session.completed or payment_intent.succeeded finds its conversation
      // (also recorded below; the webhook trusts it only inside the connection's tenant).
      metadata: { tenant_id: context.tenantId, conversation_id: context.conversationId },
      payment_intent_data: { metadata: { tenant_id: context.tenantId, conversation_id: context.conversationId } },
    });
    await context.remember?.(link.id, "payment_link", { url: link.url, priceId: input.priceId, quantity: input.quantity });
    return { text: `Payment link ready: ${link.url}`, refs: [`payment_link ${link.id}`] };
  },
};

const refund: IntegrationTool<Stripe> = {
  name: "refund_payment",
  description:
    "Refund a Stripe payment (payment intent pi_…), in full or a part in the smallest currency unit. Needs a staff member's approval: tell the person it has been requested.",
  schema: z.object({
    paymentIntentId: z.string().regex(/^pi_[A-Za-z0-9]{6,}$/, "a Stripe payment intent id (pi_…)"),
    amount: z.number().int().positive().optional(),
    reason: z.enum(["duplicate", "fraudulent", "requested_by_customer"]).optional(),
  }),
  requiresApproval: true,
  approval: "operator",
  async run(stripe, args) {
    const input = args as { paymentIntentId: string; amount?: number; reason?: "duplicate" | "fraudulent" | "requested_by_customer" };
    const made = await stripe.refunds.create({
      payment_intent: input.paymentIntentId,
      ...(input.amount ? { amount: input.amount } : {}),
      ...(input.reason ? { reason: input.reason } : {}),
    });
    return { text: `Refund ${made.id}: ${money(made.amount, made.currency)}, ${made.status}.`, refs: [`refund ${made.id}`] };
  },
};

export const stripeTools: ReadonlyArray<IntegrationTool<Stripe>> = [findCustomer, listInvoices, createPaymentLink, refund];
