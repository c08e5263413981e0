import { OpenAPIHono, z, type RouteHandler } from "@hono/zod-openapi";
import { billingDto, checkoutInput, getBilling, openBillingPortal, portalInput, startCheckout } from "../../../../../core/billing/account";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse, validationHook } from "../openapi";
import { publicBaseUrl, runVerb } from "../run";

const tags = ["Billing"];
const redirect = z.object({ url: z.url().openapi({ description: "Send the admin's browser here (a page at Stripe)" }) });

const getRoute = adminRoute("billing:read", {
  method: "get",
  path: "/",
  tags,
  operationId: "getBilling",
  summary: "The plan, its limits, usage against each, and the next invoice",
  description:
    "Monthly limits count this calendar month (UTC). After a failed payment the paid plan's limits apply until `grace.endsAt`; " +
    "then the free plan's (`basis: grace_expired`) until an invoice is paid. Nothing is ever deleted by a plan change.",
  responses: { 200: jsonResponse(billingDto.openapi("Billing"), "The tenant's billing") },
});

const checkoutRoute = adminRoute("billing:write", {
  method: "post",
  path: "/checkout",
  tags,
  operationId: "startCheckout",
  summary: "Buy a paid plan through Stripe Checkout",
  description:
    "Answers the Checkout page's URL. The plan changes when Stripe confirms the subscription (its webhook), not here. A tenant that " +
    "already has a subscription changes plans in the portal (409). 503 `BILLING_UNAVAILABLE` when billing is not configured.",
  request: { body: jsonBody(checkoutInput.openapi("StartCheckout")) },
  responses: { 200: jsonResponse(redirect.extend({ sessionId: z.string() }).openapi("CheckoutSession"), "The Checkout page") },
});

const portalRoute = adminRoute("billing:write", {
  method: "post",
  path: "/portal",
  tags,
  operationId: "openBillingPortal",
  summary: "Stripe's Customer Portal: payment methods, invoices, plan changes",
  request: { body: jsonBody(portalInput.openapi("OpenBillingPortal")) },
  responses: { 200: jsonResponse(redirect.openapi("BillingPortalSession"), "The portal page") },
});

/** Where Stripe sends the admin back by default: the console's billing panel. */
const consoleUrl = (c: Parameters<typeof publicBaseUrl<AppEnv>>[0]) => `${publicBaseUrl(c).replace(/\/+$/, "")}/console/#/billing`;

const getHandler: RouteHandler<typeof getRoute, AppEnv> = async (c) => c.json(await runVerb(c, getBilling, undefined), 200);
const checkoutHandler: RouteHandler<typeof checkoutRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, startCheckout, { ...c.req.valid("json"), consoleUrl: consoleUrl(c) }), 200);
const portalHandler: RouteHandler<typeof portalRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, openBillingPortal, { ...c.req.valid("json"), consoleUrl: consoleUrl(c) }), 200);

/** `/v1/billing`: the caller's own tenant's plan and its purchase through the platform's Stripe account. */
export const billingApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(getRoute, getHandler)
  .openapi(checkoutRoute, checkoutHandler)
  .openapi(portalRoute, portalHandler);
