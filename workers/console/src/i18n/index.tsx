import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { catalogues, type Language, type MessageKey } from "./catalogue";

/**
 * Every string of the console comes from the one catalogue (`catalogue.ts`), English and Spanish;
 * the Spanish table is typed against the English one, so a missing translation does not compile.
 * Hand-written rather than i18next: a flat typed table gives that check for free and adds no bytes
 * to the first load; numbers and dates use `Intl`.
 */
interface I18n {
  language: Language;
  setLanguage(language: Language): void;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  /** A stable error code's message, when the catalogue has one. */
  errorMessage(code: string): string | undefined;
  formatDate(value: string | Date): string;
  formatNumber(value: number, options?: Intl.NumberFormatOptions): string;
}

const STORAGE_KEY = "console.language";

function initialLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === "en" || stored === "es") return stored;
  return navigator.languages.some((l) => l.toLowerCase().startsWith("es")) ? "es" : "en";
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(STORAGE_KEY, next);
    document.documentElement.lang = next;
    setLanguageState(next);
  }, []);
  const value = useMemo<I18n>(() => {
    document.documentElement.lang = language;
    const table = catalogues[language];
    const locale = language === "es" ? "es-ES" : "en-GB";
    return {
      language,
      setLanguage,
      t: (key, vars) => table[key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars?.[name] ?? `{${name}}`)),
      errorMessage: (code) => (table as Record<string, string>)[`error.${code}`],
      formatDate: (value) => new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(value)),
      formatNumber: (value, options) => new Intl.NumberFormat(locale, options).format(value),
    };
  }, [language, setLanguage]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error("useI18n outside I18nProvider");
  return context;
}
