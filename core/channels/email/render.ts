import { Marked, type Tokens } from "marked";

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]!);

const SAFE_LINK = /^(https?:|mailto:)/i;

/**
 * A reply's HTML part: the agent's Markdown (emphasis, lists, links, code) rendered with `marked`,
 * safely: raw HTML the model wrote is shown as text, links keep only http(s) and mailto targets
 * (a `javascript:` link becomes its text), and images become links, so a reply can neither run
 * script in a webmail client nor load a tracking pixel.
 */
const markdown = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    html: (token: Tokens.HTML | Tokens.Tag) => escapeHtml(token.text),
    link(token: Tokens.Link) {
      const text = this.parser.parseInline(token.tokens);
      return SAFE_LINK.test(token.href) ? `<a href="${escapeHtml(token.href)}">${text}</a>` : text;
    },
    image: (token: Tokens.Image) =>
      SAFE_LINK.test(token.href)
        ? `<a href="${escapeHtml(token.href)}">${escapeHtml(token.text || token.href)}</a>`
        : escapeHtml(token.text),
  },
});

export function renderReplyHtml(text: string): string {
  const body = markdown.parse(text, { async: false });
  return `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">${body}</body></html>`;
}
