import { describe, expect, it } from "vitest";
import { fillTemplateValue, summarizeTemplate, templateMismatch, templateObject } from "./templates";

const orderUpdate = summarizeTemplate({
  name: "order_update",
  language: "en_US",
  status: "APPROVED",
  category: "UTILITY",
  components: [
    { type: "HEADER", format: "IMAGE" },
    { type: "BODY", text: "Hi {{1}}, about your order: {{2}}" },
    { type: "FOOTER", text: "Demo shop" },
    {
      type: "BUTTONS",
      buttons: [
        { type: "URL", text: "Track", url: "https://shop.example/orders/{{1}}" },
        { type: "PHONE_NUMBER", text: "Call" },
      ],
    },
  ],
});

describe("WhatsApp templates with variables", () => {
  it("reads what a template needs from its components", () => {
    expect(orderUpdate).toEqual({
      name: "order_update",
      language: "en_US",
      status: "APPROVED",
      category: "UTILITY",
      header: "image",
      bodyVariables: 2,
      buttons: [{ index: 0, type: "url" }],
    });
  });

  it("says why a configured template does not match the approved one", () => {
    const configured = { name: "order_update", language: "en_US", header: { type: "image" as const, link: "https://cdn.example/a.png" } };
    expect(templateMismatch({ ...configured, body: ["{{name}}", "{{reply}}"] }, [orderUpdate])).toBeUndefined();
    expect(templateMismatch({ ...configured, body: ["{{name}}"] }, [orderUpdate])).toBe(
      "template order_update (en_US) has 2 body variable(s); 1 configured",
    );
    expect(templateMismatch({ name: "order_update", language: "en_US", body: ["a", "b"] }, [orderUpdate])).toContain("has a image header");
    expect(templateMismatch({ ...configured, name: "gone" }, [orderUpdate])).toBe(
      "template gone (en_US) is not in the WhatsApp Business Account",
    );
    expect(templateMismatch({ ...configured, body: ["a", "b"] }, [{ ...orderUpdate, status: "PENDING" }])).toContain(
      "is pending, not approved",
    );
    expect(
      templateMismatch({ ...configured, body: ["a", "b"], buttons: [{ index: 1, type: "url", value: "x" }] }, [orderUpdate]),
    ).toContain("no url button with a variable at index 1");
  });

  it("fills the turn's values on one line, within Meta's limits", () => {
    const values = { name: "Grace", phone: "+16505550100", reply: "Line one.\n\nLine\ttwo      spaced." };
    expect(fillTemplateValue("Hi {{name}} ({{ phone }})", values)).toBe("Hi Grace (+16505550100)");
    expect(fillTemplateValue("{{reply}}", values)).toBe("Line one. Line two   spaced.");
    expect(fillTemplateValue("{{name}}", { phone: "+1", reply: "" })).toBe("-");
    expect(fillTemplateValue("{{reply}}", { phone: "+1", reply: "x".repeat(2000) })).toHaveLength(1024);
  });

  it("builds the Cloud API's template object with header media, body and button parameters", () => {
    const object = templateObject(
      {
        name: "order_update",
        language: "en_US",
        header: { type: "document", link: "https://cdn.example/invoice.pdf", filename: "invoice.pdf" },
        body: ["{{name}}", "{{reply}}"],
        buttons: [{ index: 0, type: "url", value: "{{phone}}" }],
      },
      { name: "Grace", phone: "+16505550100", reply: "Shipped today." },
    );
    expect(object).toEqual({
      name: "order_update",
      language: { code: "en_US" },
      components: [
        {
          type: "header",
          parameters: [{ type: "document", document: { link: "https://cdn.example/invoice.pdf", filename: "invoice.pdf" } }],
        },
        {
          type: "body",
          parameters: [
            { type: "text", text: "Grace" },
            { type: "text", text: "Shipped today." },
          ],
        },
        { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "+16505550100" }] },
      ],
    });
    expect(templateObject({ name: "hello", language: "en" }, { phone: "+1", reply: "" })).toEqual({
      name: "hello",
      language: { code: "en" },
    });
  });
});
