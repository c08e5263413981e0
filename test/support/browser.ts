import { chromium, type Browser } from "playwright-core";
import { CHROMIUM_PATH } from "../setup/prerequisites";

/**
 * Debian's Chromium (obtained by the test set-up), headless, with the flags that keep it off the
 * network: nothing but the loopback pages a test opens.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
