/**
 * The embeddable web chat widget, served as `GET /webchat/widget.js`: plain JavaScript, no
 * framework, a few kilobytes, isolated in a shadow root so the host page's styles neither leak in
 * nor out. Embed with one tag:
 *
 *   <script src="https://<edge>/webchat/widget.js" data-channel="<tenant>.<channel>" async></script>
 *
 * It opens a session on first use (kept in sessionStorage for the tab), sends messages with a
 * client id (so a retried send is stored once), and receives replies as server-sent events while
 * open: the tokens of a reply as the model writes them, then the whole reply in their place. It
 * reads what it missed whenever the stream (re)opens; where the stream is unavailable it polls
 * every 1.5 s instead.
 * Replies are inserted with textContent: nothing a model writes is parsed as HTML.
 */
export const WIDGET_SCRIPT = String.raw`(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var channel = script.getAttribute("data-channel");
  var base = new URL(script.src).origin + "/webchat/" + encodeURIComponent(channel || "");
  var title = script.getAttribute("data-title") || "Chat with us";
  var storeKey = "agent-webchat:" + channel;
  var session = null, opening = null, cursor = null, timer = null, stream = null, seen = {}, drafts = {};
  try { var saved = JSON.parse(sessionStorage.getItem(storeKey) || "null"); if (saved && saved.expiresAt > Date.now() + 60000) session = saved; } catch (e) {}

  var host = document.createElement("div");
  host.setAttribute("data-agent-webchat", "");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    '<style>:host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}' +
    '.b{position:fixed;right:20px;bottom:20px;border:0;border-radius:24px;padding:12px 18px;background:#1f6feb;color:#fff;cursor:pointer;z-index:2147483647}' +
    '.p{position:fixed;right:20px;bottom:76px;width:320px;height:420px;display:none;flex-direction:column;background:#fff;border:1px solid #d0d7de;border-radius:12px;box-shadow:0 8px 24px rgba(0,0,0,.15);z-index:2147483647}' +
    '.p.o{display:flex}.h{padding:10px 12px;border-bottom:1px solid #eee;font-weight:600}.l{flex:1;overflow-y:auto;padding:10px}' +
    '.m{margin:6px 0;padding:8px 10px;border-radius:10px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}.u{background:#ddf4ff;margin-left:auto}.a{background:#f6f8fa}.e{color:#cf222e;font-size:12px}' +
    'form{display:flex;border-top:1px solid #eee}input{flex:1;border:0;padding:10px;outline:none}form button{border:0;background:none;color:#1f6feb;padding:0 12px;cursor:pointer}</style>' +
    '<button class="b" part="launcher" data-testid="launcher"></button>' +
    '<div class="p" part="panel" data-testid="panel"><div class="h"></div><div class="l" data-testid="log" aria-live="polite"></div>' +
    '<form data-testid="form"><input data-testid="input" maxlength="4000" placeholder="Type a message" aria-label="Message"><button data-testid="send">Send</button></form></div>';
  var launcher = root.querySelector(".b"), panel = root.querySelector(".p"), log = root.querySelector(".l");
  var form = root.querySelector("form"), input = root.querySelector("input");
  launcher.textContent = title;
  root.querySelector(".h").textContent = title;

  function add(kind, text) {
    var item = document.createElement("div");
    item.className = "m " + kind;
    item.setAttribute("data-role", kind === "u" ? "visitor" : kind === "a" ? "agent" : "error");
    item.textContent = text;
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }
  function call(method, path, body) {
    var headers = { "content-type": "application/json" };
    if (session) headers.authorization = "Bearer " + session.token;
    return fetch(base + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) { if (!r.ok) { var err = new Error((json.error && json.error.message) || "HTTP " + r.status); err.status = r.status; throw err; } return json; });
    });
  }
  // One session however many callers ask at once (opening the panel and sending right away).
  function ensureSession() {
    if (session) return Promise.resolve(session);
    if (!opening) opening = call("POST", "/sessions").then(function (s) {
      session = s; opening = null;
      try { sessionStorage.setItem(storeKey, JSON.stringify(s)); } catch (e) {}
      if (s.welcomeMessage) add("a", s.welcomeMessage);
      return s;
    }, function (e) { opening = null; throw e; });
    return opening;
  }
  function poll() {
    if (!session) return;
    call("GET", "/messages" + (cursor ? "?after=" + encodeURIComponent(cursor) : "")).then(function (page) {
      (page.messages || []).forEach(show);
      if (page.cursor) cursor = page.cursor;
    }, function (e) { if (e.status === 401) { session = null; try { sessionStorage.removeItem(storeKey); } catch (x) {} } });
  }
  // A reply takes the place of the tokens shown for its turn while it was written.
  function show(m) {
    if (seen[m.id]) return;
    seen[m.id] = 1;
    var draft = m.turn && drafts[m.turn];
    if (!draft) return add("a", m.text);
    delete drafts[m.turn];
    draft.textContent = m.text;
    draft.removeAttribute("data-streaming");
  }
  function write(t) {
    var draft = drafts[t.turn];
    if (!draft) { draft = drafts[t.turn] = add("a", ""); draft.setAttribute("data-streaming", ""); }
    draft.textContent += t.text;
    log.scrollTop = log.scrollHeight;
  }
  function pollEvery() { if (!timer) timer = setInterval(poll, 1500); }
  function quiet() { clearInterval(timer); timer = null; if (stream) { stream.close(); stream = null; } }
  function listen() {
    if (typeof EventSource === "undefined") return pollEvery();
    stream = new EventSource(base + "/stream?token=" + encodeURIComponent(session.token));
    stream.addEventListener("open", function () { clearInterval(timer); timer = null; poll(); });
    stream.addEventListener("reply", function (event) { try { show(JSON.parse(event.data)); } catch (e) {} });
    stream.addEventListener("token", function (event) { try { write(JSON.parse(event.data)); } catch (e) {} });
    stream.addEventListener("error", function () { if (stream && stream.readyState === 2) { stream = null; pollEvery(); } });
  }
  launcher.addEventListener("click", function () {
    var open = panel.classList.toggle("o");
    quiet();
    if (open) {
      ensureSession().then(function () { poll(); listen(); }, function (e) { add("e", "Chat unavailable: " + e.message); });
      input.focus();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    add("u", text);
    var id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
    ensureSession().then(function () { return call("POST", "/messages", { text: text, clientMessageId: id }); }).then(function () { if (!stream) setTimeout(poll, 300); }, function (e) { add("e", "Not sent: " + e.message); });
  });
  (document.body || document.documentElement).appendChild(host);
})();
`;
