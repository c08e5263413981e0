import { useState } from "react";
import { Link, Redirect, Route, Router, Switch, useLocation } from "wouter";
import { useHashLocation } from "wouter/use-hash-location";
import { useMe, useSession, type Permission } from "./auth";
import { useI18n } from "./i18n";
import type { MessageKey } from "./i18n/catalogue";
import { AgentEditor, AgentsPanel } from "./panels/agents";
import { AnalyticsPanel } from "./panels/analytics";
import { ApiKeysPanel } from "./panels/api-keys";
import { AuditPanel } from "./panels/audit";
import { BillingPanel } from "./panels/billing";
import { ChannelsPanel } from "./panels/channels";
import { InboxPanel } from "./panels/inbox";
import { IntegrationsPanel } from "./panels/integrations";
import { KnowledgePanel } from "./panels/knowledge";
import { OnboardingPanel } from "./panels/onboarding";
import { SettingsPanel } from "./panels/settings";
import { AcceptInvitation, SignIn, SignUp } from "./panels/sign-in";
import { ToolsPanel } from "./panels/tools";
import { UsersPanel } from "./panels/users";
import { ErrorNotice, Loading } from "./ui";

/** The panels, each shown only to roles with its read permission. */
const PANELS: { path: string; label: MessageKey; permission: Permission }[] = [
  { path: "/agents", label: "nav.agents", permission: "agents:read" },
  { path: "/inbox", label: "nav.inbox", permission: "agents:read" },
  { path: "/tools", label: "nav.tools", permission: "tools:read" },
  { path: "/knowledge", label: "nav.knowledge", permission: "knowledge:read" },
  { path: "/channels", label: "nav.channels", permission: "channels:read" },
  { path: "/integrations", label: "nav.integrations", permission: "integrations:read" },
  { path: "/analytics", label: "nav.analytics", permission: "analytics:read" },
  { path: "/users", label: "nav.users", permission: "users:read" },
  { path: "/api-keys", label: "nav.apiKeys", permission: "users:read" },
  { path: "/audit", label: "nav.audit", permission: "users:read" },
  { path: "/settings", label: "nav.settings", permission: "settings:read" },
  { path: "/billing", label: "nav.billing", permission: "billing:read" },
];

export function App() {
  return (
    <Router hook={useHashLocation}>
      <Switch>
        <Route path="/sign-in" component={SignIn} />
        <Route path="/sign-up" component={SignUp} />
        <Route path="/accept" component={AcceptInvitation} />
        <Route>
          <SignedIn />
        </Route>
      </Switch>
    </Router>
  );
}

function SignedIn() {
  const { session } = useSession();
  if (!session) return <Redirect to="/sign-in" />;
  return <Shell />;
}

function Shell() {
  const { t, language, setLanguage } = useI18n();
  const { signOut } = useSession();
  const me = useMe();
  const [location] = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  if (me.error) return <ErrorNotice error={me.error} />;
  if (!me.data) return <Loading />;
  const panels = PANELS.filter((panel) => me.can(panel.permission));
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t("nav.skip")}
      </a>
      <header className="topbar">
        <button className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          {t("nav.menu")}
        </button>
        <span className="brand">{t("app.name")}</span>
        <span className="who" data-testid="role">
          {t("nav.role", { role: me.data.role.name })}
        </span>
        <label className="language">
          <span className="visually-hidden">{t("nav.language")}</span>
          <select value={language} onChange={(e) => setLanguage(e.target.value as "en" | "es")}>
            <option value="en">English</option>
            <option value="es">Español</option>
          </select>
        </label>
        <button className="link" onClick={signOut}>
          {t("nav.signOut")}
        </button>
      </header>
      <nav id="nav" className={menuOpen ? "open" : ""} aria-label={t("nav.label")}>
        <ul>
          <li>
            <Link href="/welcome" aria-current={location === "/welcome" ? "page" : undefined} onClick={() => setMenuOpen(false)}>
              {t("nav.welcome")}
            </Link>
          </li>
          {panels.map((panel) => (
            <li key={panel.path}>
              <Link
                href={panel.path}
                aria-current={location.startsWith(panel.path) ? "page" : undefined}
                onClick={() => setMenuOpen(false)}
              >
                {t(panel.label)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        <Switch>
          <Route path="/welcome" component={OnboardingPanel} />
          <Route path="/agents" component={AgentsPanel} />
          <Route path="/agents/:id">{(params) => <AgentEditor agentId={params.id} />}</Route>
          <Route path="/inbox">
            <InboxPanel />
          </Route>
          <Route path="/inbox/:id">{(params) => <InboxPanel conversationId={params.id} />}</Route>
          <Route path="/tools" component={ToolsPanel} />
          <Route path="/knowledge" component={KnowledgePanel} />
          <Route path="/channels" component={ChannelsPanel} />
          <Route path="/integrations" component={IntegrationsPanel} />
          <Route path="/analytics" component={AnalyticsPanel} />
          <Route path="/users" component={UsersPanel} />
          <Route path="/api-keys" component={ApiKeysPanel} />
          <Route path="/audit" component={AuditPanel} />
          <Route path="/settings" component={SettingsPanel} />
          <Route path="/billing" component={BillingPanel} />
          <Route>
            <Redirect to={panels.length ? "/agents" : "/welcome"} />
          </Route>
        </Switch>
      </main>
    </div>
  );
}
