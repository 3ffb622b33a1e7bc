// The manager's dashboard (/manager): log in with user and password, then watch the whole hall
// live — every window, every queue, the devices, today's warnings — set the notice, give a
// waiting ticket 绿色通道, acknowledge warnings; the 统计报表 tab (reports.js) pulls the KPIs.
//
// The server is the truth. The page holds the last hello reply (snapshot.hall, snapshot.live,
// devices, online, warnings) and applies each event to it: `window` and `queue` events are
// states and replace what is known if their seq is not older; warnings are kept by their seq;
// `presence` and `device` update the devices. After a reconnect (a server restart, a network
// blip) HallSocket says hello again and everything is replaced by the reply; a `day_started`
// makes it say hello at once. User and password live only in the HallSocket's memory; a county
// manager's resume token (from its pass) in this tab's sessionStorage, see PASS_KEY. The hall's
// words (roles, printer states, warnings, window states) are the server's (VOCABULARY, from
// /common/vocabulary.js).
"use strict";

const { BOOKED_MARK, ROLE_NAMES, PRINTER_STATE_NAMES, VOICE_STATE_NAMES, WARNING_KIND_NAMES,
        WARNING_LEVEL_NAMES, WINDOW_STATE_NAMES } = VOCABULARY;
const LEVELS = {
  red: { icon: "▲", word: WARNING_LEVEL_NAMES.red },
  yellow: { icon: "●", word: WARNING_LEVEL_NAMES.yellow },
};
const OFFLINE_TEXT = "连接中断，正在重连…";


const app = {
  socket: null,
  connection: "idle",   // idle | connecting | online | offline
  everOnline: false,
  wasOffline: false,
  ready: false,         // the hello reply of the current connection has been applied
  newDay: null,
  name: "",
  hall: null,
  day: null,            // the service day (snapshot.live.day)
  todayTimer: null,
  todayAt: 0,           // when today's totals were last asked for (this PC's clock)
  windows: new Map(),   // window number → {view, seq}
  queues: new Map(),    // category → {view, seq}
  notice: "",
  warnings: new Map(),  // seq → warning (snapshot.warnings, then `warning` events)
  ackErrors: new Map(), // seq → the server's refusal of our acknowledgement
  acking: new Set(),
  reports: new Map(),   // device → its last report (snapshot.devices, `device` events)
  online: new Map(),    // every registered device → {device, role, window, connections (0: offline)}
  cards: new Map(),     // window number → its card element
  skew: 0,              // server clock − this PC's clock, in ms, when they differ by over 2 s
  view: "live",
  loginHooks: [],       // called with the hello reply each time one is applied (reports.js)
  eventHooks: [],       // called with each event (cases.js, complaints.js)
};

// --- small helpers ------------------------------------------------------------------------------

const clockOf = (iso) => (iso ? iso.slice(11, 16) : "");       // the hall's local time, as sent
const secondsClockOf = (iso) => (iso ? iso.slice(11, 19) : "");
const now = () => Date.now() + app.skew;

// "3分05秒", "1时02分": how long something has lasted, for people.
function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s >= 3600) return `${Math.floor(s / 3600)}时${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}分`;
  return `${Math.floor(s / 60)}分${String(s % 60).padStart(2, "0")}秒`;
}

function say(text, kind = "info") {
  const bar = $("message");
  bar.textContent = text;
  bar.dataset.kind = text ? kind : "";
}

function noteServerClock(at) {
  app.skew = clockSkew(at, app.skew);
}

function windowDef(number) {
  return app.hall ? app.hall.windows.find((w) => w.window === number) : null;
}

function categoryDef(prefix) {
  return app.hall ? app.hall.categories.find((c) => c.prefix === prefix) : null;
}

function departmentName(code) {
  const d = app.hall && app.hall.departments.find((x) => x.code === code);
  return d ? d.name : code || "未设部门";
}

function zoneName(def) {
  return [def.floor, def.zone].filter(Boolean).join(" ") || "未设区域";
}

// --- the session -------------------------------------------------------------------------------

function logIn(user, password) {
  startSession({ role: "manager", user, password });
}

function startSession(hello) {
  if (app.socket) app.socket.stop();
  app.everOnline = false;
  app.ready = false;
  // A stopped HallSocket calls none of its handlers again, so an old session is silent.
  app.socket = new HallSocket(hello, { onStatus, onHello, onEvent, onRefused });
}

// A county manager comes from the county's page (/county) with a pass in the address
// (#pass=…, good for a minute and for this hall only): the page takes it out of the address bar
// and logs in with it. The hello's reply brings a resume token for this hall, which this tab
// keeps (sessionStorage: gone with the tab) for its reconnects and reloads.
const PASS_KEY = "county-resume";

function passGiven() {
  if (location.hash.startsWith("#pass=")) {
    const pass = decodeURIComponent(location.hash.slice("#pass=".length));
    history.replaceState(null, "", location.pathname + location.search + "#live");
    return pass;
  }
  return sessionStorage.getItem(PASS_KEY);
}

function logOut(message) {
  sessionStorage.removeItem(PASS_KEY);
  if (app.socket) app.socket.stop();
  app.socket = null;
  app.ready = false;
  app.connection = "idle";
  app.hall = null;
  showScreen("login");
  renderTop();
  say(message || "");
  $("login-button").disabled = false;
  $("login-button").textContent = "登录";
}

function onStatus(state) {
  app.connection = state;
  if (state !== "online") app.ready = false;
  if (state === "online") app.everOnline = true;
  if (state === "offline" && app.everOnline) app.wasOffline = true;
  if (document.body.dataset.screen === "login") {
    $("login-error").textContent = state === "offline" ? "无法连接到大厅服务器，正在重试…" : "";
    $("login-button").disabled = state === "connecting" || state === "offline";
    if (state === "connecting") $("login-button").textContent = "正在登录…";
  } else if (state !== "online" && app.everOnline) {
    say(`${OFFLINE_TEXT}（下面显示的是断开前的状态，操作暂不可用）`, "error");
  }
  renderTop();
  renderOpsEnabled();
}

function onRefused(error) {
  const again = app.everOnline;
  logOut(error.code === "revoked" ? "登录已失效，您已退出"
    : again ? "重新连接时登录未通过，请重新登录" : "");
  $("login-error").textContent = error.message || "登录未通过";
  $("password").value = "";
  $("password").focus();
}

function onHello(reply) {
  if (reply.resume) {   // a county manager: the next hellos of this tab use it
    sessionStorage.setItem(PASS_KEY, reply.resume);
    app.socket.hello = { role: "manager", pass: reply.resume };
  }
  noteServerClock(reply.now);   // the hall's clock from the first moment, not the first event
  const snapshot = reply.snapshot;
  const seq = reply.seq;
  app.name = reply.name;
  app.hall = snapshot.hall;
  app.day = snapshot.live.day;
  app.windows = new Map(snapshot.live.windows.map((w) => [w.window, { view: w, seq }]));
  app.queues = new Map(snapshot.live.queues.map((q) => [q.category, { view: q, seq }]));
  app.notice = snapshot.live.notice || "";
  app.warnings = new Map((snapshot.warnings || []).map((w) => [w.seq, w]));
  app.ackErrors = new Map();
  app.acking = new Set();
  app.reports = new Map((snapshot.devices || []).map((d) => [d.device, d]));
  app.online = new Map((snapshot.online || []).map((d) => [d.device, d]));
  app.ready = true;
  document.title = `大厅管理 - ${app.hall.name}`;
  if (document.body.dataset.screen === "login") {
    $("login-form").reset();
    $("login-button").disabled = false;
    $("login-button").textContent = "登录";
    say("");
  }
  if (app.newDay) say(`新的服务日（${app.newDay}）已开始，已载入今天的状态`, "info");
  else if (app.wasOffline) say("已重新连接，显示的是服务器上的最新状态", "ok");
  else if ($("message").dataset.kind === "error") say("");
  app.newDay = null;
  app.wasOffline = false;
  showScreen("main");
  fillGroupFilter();
  renderAll();
  for (const hook of app.loginHooks) hook(reply);
  app.todayAt = 0;
  refreshToday(0);
}

// Today's totals for the hall, from the server's own KPIs (the `stats` op): asked again shortly
// after tickets are issued, ended or rated, at most once per TODAY_EVERY_MS.
const TODAY_EVERY_MS = 5000;

function refreshToday(soon = 300) {
  if (app.todayTimer) return;
  const wait = Math.max(soon, app.todayAt + TODAY_EVERY_MS - Date.now());
  app.todayTimer = setTimeout(async () => {
    app.todayAt = Date.now();
    const day = app.day;
    const reply = await request("stats", { view: "kpis", from: day, to: day, by: "hall", period: "day" });
    app.todayTimer = null;
    if (day !== app.day) return;
    const box = $("today-summary");
    box.textContent = "";
    if (!reply.ok) {
      if (reply.error.code !== "offline") box.textContent = `今日统计暂不可用：${reply.error.message}`;
      return;
    }
    const row = reply.rows[0] || { issued: 0, finished: 0, no_show: 0, wait_mean_s: null, satisfied_pct: null };
    const parts = [["取号", row.issued], ["办结", row.finished], ["过号", row.no_show]];
    if (row.wait_mean_s !== null) parts.push([METRIC_NAMES.wait_mean_s, `${(row.wait_mean_s / 60).toFixed(1)} 分钟`]);
    if (row.satisfied_pct !== null) parts.push([METRIC_NAMES.satisfied_pct, `${row.satisfied_pct.toFixed(1)}%`]);
    box.append("今日 ", ...parts.flatMap(([name, value], i) => [
      i ? " · " : "", `${name} `, element("b", { textContent: String(value) })]));
  }, wait);
}

function onEvent(event) {
  if (!app.ready) return;   // before the hello reply: already in the snapshot it brings
  noteServerClock(event.at);
  for (const hook of app.eventHooks) hook(event);
  switch (event.ev) {
    case "window": {
      const known = app.windows.get(event.window);
      if (known && event.seq < known.seq) break;
      app.windows.set(event.window, { view: event, seq: event.seq });
      updateWindow(event.window);
      renderWindowsSummary();
      renderQueues();   // 在岗窗口 counts
      break;
    }
    case "queue": {
      const known = app.queues.get(event.category);
      if (known && event.seq < known.seq) break;
      app.queues.set(event.category, { view: event, seq: event.seq });
      renderQueues();
      for (const [number] of app.windows) {
        const def = windowDef(number);
        if (def && def.categories.includes(event.category)) updateWindow(number);
      }
      break;
    }
    // A call or an end at a window shows at once: its `window` state follows in the same commit,
    // but at peak the server holds state views for up to 0.1 s (docs/protocol.md, fanout.py).
    case "ticket_called":
      if (!event.recall) {
        patchWindow(event.window, { current: event.number, current_booked: !!event.booked,
                                    current_since: event.at }, event.seq);
      }
      break;
    case "ticket_finished":
    case "ticket_no_show":
    case "ticket_held":
    case "ticket_transferred":
      patchWindow(event.window, { current: null, current_booked: false, current_since: null },
                  event.seq, event.number);
      refreshToday();
      break;
    case "notice":
      app.notice = event.text || "";
      renderNotice();
      break;
    case "warning":
      if (!app.warnings.has(event.seq)) {
        const { ev, ...warning } = event;
        app.warnings.set(event.seq, { ...warning, acknowledged: null });
        renderWarnings();
        markWindows();
      }
      break;
    case "warning_acknowledged": {
      const warning = app.warnings.get(event.warning);
      if (warning) {
        warning.acknowledged = { by: event.by, at: event.at };
        renderWarnings();
        markWindows();
      }
      break;
    }
    case "device": {
      const { ev, seq, ...report } = event;
      app.reports.set(event.device, report);
      renderDevices();
      break;
    }
    case "presence": {
      // Every registered device is in the snapshot's list; a presence event updates its count.
      // A board's voice backlog is known while it is connected (the server forgets it after).
      const before = app.online.get(event.device);
      app.online.set(event.device, { device: event.device, role: event.role,
                                     window: event.window, connections: event.connections,
                                     voice: event.connections > 0 && before ? before.voice : undefined });
      renderDevices();
      break;
    }
    case "voice": {
      const { ev, seq, device, role, ...voice } = event;
      const known = app.online.get(device) || { device, role, window: null, connections: 1 };
      app.online.set(device, { ...known, voice });
      renderDevices();
      break;
    }
    case "day_started":
      app.newDay = event.day;
      say(`新的服务日（${event.day}）已开始，正在重新载入…`);
      app.socket.rehello();
      break;
    case "ticket_issued":
    case "ticket_cancelled":
    case "rating":
      refreshToday();
      break;
    default:
      break;   // the window and queue states that follow say what changed
  }
}

// Part of a window's state from a ticket event, until its `window` state (same seq or later)
// replaces it; `only` if that ticket is the one at the window.
function patchWindow(number, changes, seq, only) {
  const known = app.windows.get(number);
  if (!known || seq < known.seq || (only && known.view.current !== only)) return;
  known.view = { ...known.view, ...changes };
  known.seq = seq;
  updateWindow(number);
  renderWindowsSummary();
}

function request(op, params, timeoutMs) {
  if (!app.socket) {
    return Promise.resolve({ ok: false, error: { code: "offline", message: "未登录" } });
  }
  return app.socket.request(op, params, timeoutMs);
}

// --- screens and the tab ------------------------------------------------------------------------

function showScreen(screen) {
  document.body.dataset.screen = screen;
  $("login-screen").hidden = screen !== "login";
  $("tabs").hidden = screen === "login";
  $("logout-button").hidden = screen === "login";
  $("alarms").hidden = screen === "login";
  showView();
  if (screen === "login") $("user").focus();
}

const VIEWS = ["live", "reports", "complaints"];   // the tabs, each a screen: #reports …

function showView() {
  app.view = VIEWS.find((view) => location.hash === `#${view}`) || "live";
  const main = document.body.dataset.screen === "main";
  document.body.dataset.view = app.view;
  for (const view of VIEWS) $(`${view}-screen`).hidden = !main || app.view !== view;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.view === app.view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (main && app.view === "reports" && window.Reports) window.Reports.shown();
}

// --- rendering ----------------------------------------------------------------------------------

function renderAll() {
  renderTop();
  renderWindows();
  renderWindowsSummary();
  renderQueues();
  renderWarnings();
  renderDevices();
  renderNotice();
  renderOpsEnabled();
}

function renderTop() {
  $("hall-name").textContent = app.hall ? app.hall.name : "大厅管理";
  $("who").textContent = app.hall && app.name ? `管理人员：${app.name}` : "";
  const connection = $("connection");
  connection.dataset.state = app.connection;
  connection.textContent = {
    idle: "", connecting: "正在连接…", online: "已连接", offline: "连接中断",
  }[app.connection];
  tickClock();
}

function tickClock() {
  $("clock").textContent = hallClockText(app.hall && app.hall.timezone, now());
}

// The live windows: state words, clerk and post, the ticket in hand and for how long.

function windowState(view) {
  if (view.status === "paused") return "paused";
  if (view.status === "closed") return "closed";
  return view.current ? "serving" : "idle";
}

function waitingFor(def) {
  return def.categories.reduce((n, p) => n + ((app.queues.get(p) || { view: {} }).view.waiting || 0), 0);
}

// The worst unacknowledged warning about a window: its own (脱岗, 办理超时, 差评) or its ticket's.
function openWarningLevel(number) {
  let level = null;
  const live = app.windows.get(number);
  const current = live && live.view.current;
  for (const w of app.warnings.values()) {
    if (w.acknowledged) continue;
    if (w.window === number || (current && w.ticket === current)) {
      if (w.level === "red") return "red";
      level = "yellow";
    }
  }
  return level;
}

function groupOf(def) {
  const by = $("group-by").value;
  if (by === "zone") return zoneName(def);
  if (by === "department") return departmentName(def.department);
  return "";
}

function matches(number) {
  const def = windowDef(number);
  const live = app.windows.get(number);
  if (!def || !live) return false;
  const group = $("group-filter").value;
  if (group && groupOf(def) !== group && $("group-by").value !== "none") return false;
  const status = $("status-filter").value;
  if (status === "warned") {
    if (!openWarningLevel(number)) return false;
  } else if (status && windowState(live.view) !== status) {
    return false;
  }
  const search = $("window-search").value.trim().toUpperCase();
  if (search) {
    const v = live.view;
    const text = [`${number}`, `${number}号`, def.name, v.clerk ? v.clerk.name : "", v.current || "",
                  departmentName(def.department), zoneName(def)].join(" ").toUpperCase();
    if (!text.includes(search)) return false;
  }
  return true;
}

function fillGroupFilter() {
  const select = $("group-filter");
  const chosen = select.value;
  const by = $("group-by").value;
  select.textContent = "";
  select.append(element("option", { value: "", textContent: by === "none" ? "全部窗口" : "全部" }));
  select.disabled = by === "none" || !app.hall;
  if (!app.hall || by === "none") return;
  const counts = new Map();
  for (const def of app.hall.windows) counts.set(groupOf(def), (counts.get(groupOf(def)) || 0) + 1);
  for (const [name, n] of counts) {
    select.append(element("option", { value: name, textContent: `${name}（${n}）` }));
  }
  if (counts.has(chosen)) select.value = chosen;
}

function renderWindows() {
  const box = $("window-groups");
  box.textContent = "";
  app.cards = new Map();
  if (!app.hall) return;
  const groups = new Map();
  let shown = 0;
  for (const def of app.hall.windows) {
    if (!matches(def.window)) continue;
    const name = groupOf(def);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(def.window);
    shown += 1;
  }
  // One flow of cards; each group starts with a label tile of its own, so that a department
  // of one window takes one tile, not a row, and 142 windows fit on a screen or two.
  for (const [name, numbers] of groups) {
    if (name) {
      box.append(element("h3", { class: "group-tile", title: `${name}：${numbers.length} 个窗口` },
        element("span", { class: "group-name", textContent: name }),
        element("span", { class: "group-count", textContent: `${numbers.length} 个窗口` })));
    }
    for (const number of numbers) {
      const card = element("article", { class: "win", dataset: { window: String(number) } });
      fillCard(card, number);
      app.cards.set(number, card);
      box.append(card);
    }
  }
  if (!shown) box.append(element("p", { class: "empty", textContent: "没有符合条件的窗口" }));
  const total = app.hall.windows.length;
  $("windows-shown").textContent = shown === total ? `共 ${total} 个` : `显示 ${shown} / ${total} 个`;
}

function fillCard(card, number) {
  const def = windowDef(number);
  const view = app.windows.get(number).view;
  const state = windowState(view);
  card.dataset.status = state;
  card.textContent = "";
  let stateText = WINDOW_STATE_NAMES[state];
  if (state === "paused" && view.reason) stateText += `：${view.reason}`;
  card.append(element("div", { class: "win-top" },
    element("span", { class: "win-no", textContent: `${number}号` }),
    element("span", { class: "win-name", textContent: def.name, title: def.name })));
  card.append(element("div", { class: "win-line win-clerk" },
    element("span", { class: "win-state", textContent: WINDOW_STATE_NAMES[state] }), " ",
    view.clerk ? `${view.clerk.name} · ${view.clerk.post}岗` : "无人在岗"));
  const line = element("div", { class: "win-line win-now" });
  if (state === "serving") {
    line.append(element("span", { class: "win-ticket", textContent: view.current }),
                view.current_booked ? element("small", { class: "mark", textContent: BOOKED_MARK }) : "",
                " 已办理 ",
                element("span", { class: "win-elapsed", dataset: { since: view.current_since || "" },
                                  textContent: view.current_since ? duration(now() - Date.parse(view.current_since)) : "" }));
  } else if (state === "paused") {
    line.append(`暂停原因：${view.reason || "未填写"}`);
    line.title = stateText;
  } else {
    const waiting = waitingFor(def);
    if (state === "idle") {
      line.append(waiting ? element("span", { class: "idle-waiting", textContent: `空闲，有 ${waiting} 人在等` })
                          : "空闲，无人等候");
      line.title = waiting ? `本窗口办理的业务有 ${waiting} 人在等候` : "";
    } else {
      line.append(waiting ? `本窗口业务 ${waiting} 人在等` : "—");
    }
  }
  card.append(line);
  const level = openWarningLevel(number);
  if (level) {
    card.dataset.warned = level;
    card.append(element("div", { class: "win-flag", dataset: { level },
                                 textContent: `${LEVELS[level].icon} ${LEVELS[level].word}待确认` }));
  } else {
    delete card.dataset.warned;
  }
  card.setAttribute("aria-label", `${number}号窗口 ${def.name}，${stateText}`);
}

function updateWindow(number) {
  const card = app.cards.get(number);
  const shouldShow = matches(number);
  if (card && shouldShow) fillCard(card, number);
  else if (!!card !== shouldShow) renderWindows();
}

function markWindows() {
  if ($("status-filter").value === "warned") {
    renderWindows();
    return;
  }
  for (const number of app.cards.keys()) fillCard(app.cards.get(number), number);
}

function renderWindowsSummary() {
  if (!app.hall) return;
  const counts = { serving: 0, idle: 0, paused: 0, closed: 0 };
  for (const { view } of app.windows.values()) counts[windowState(view)] += 1;
  const box = $("windows-summary");
  box.textContent = "";
  box.append(...Object.entries(counts).flatMap(([state, n], i) => [
    i ? " · " : "", `${WINDOW_STATE_NAMES[state]} `, element("b", { textContent: String(n) })]));
}

// The queues: how many wait, the longest wait (live), the windows staffed for them, who is next.

function renderQueues() {
  if (!app.hall) return;
  const body = $("queues");
  body.textContent = "";
  const onlyWaiting = $("queues-waiting-only").checked;
  const group = $("group-by").value === "department" ? $("group-filter").value : "";
  let total = 0;
  let longest = null;
  let rows = 0;
  for (const category of app.hall.categories) {
    const q = (app.queues.get(category.prefix) || { view: { waiting: 0, next: [] } }).view;
    total += q.waiting;
    if (q.oldest_at && (!longest || q.oldest_at < longest)) longest = q.oldest_at;
    if (onlyWaiting && !q.waiting) continue;
    if (group && departmentName(category.department) !== group) continue;
    const windows = category.windows || [];
    const staffed = windows.filter((n) => {
      const w = app.windows.get(n);
      return w && w.view.status === "open";
    }).length;
    const next = element("td", { class: "next" });
    const booked = new Set(q.booked || []);   // checked-in bookings (预约)
    for (const number of q.next || []) {
      const chip = element("button", { type: "button", class: "chip", title: `为 ${number} 开通绿色通道…` },
                           number, booked.has(number) ? element("small", { class: "mark", textContent: BOOKED_MARK }) : "");
      chip.addEventListener("click", () => {
        $("green-number").value = number;
        $("green-result").textContent = "";
        $("green-number").focus();
      });
      next.append(chip);
    }
    if (q.waiting > (q.next || []).length) next.append(`等 ${q.waiting} 人`);
    body.append(element("tr", { dataset: { category: category.prefix, none: q.waiting && !staffed ? "yes" : "no" } },
      element("td", { textContent: category.prefix }),
      element("td", { textContent: category.name }),
      element("td", { class: "num" }, element("b", { textContent: String(q.waiting) })),
      element("td", { class: "num longest", dataset: { oldest: q.oldest_at || "" },
                      textContent: q.oldest_at ? duration(now() - Date.parse(q.oldest_at)) : "—" }),
      element("td", { class: "staffed", textContent: windows.length
        ? `${staffed} / ${windows.length}${q.waiting && !staffed ? "（无人办理）" : ""}` : "无窗口" }),
      next));
    rows += 1;
  }
  if (!rows) {
    body.append(element("tr", {}, element("td", { colSpan: 6, class: "empty",
      textContent: onlyWaiting ? "现在没有人排队" : "没有业务类别" })));
  }
  const summary = $("queues-summary");
  summary.textContent = "";
  summary.append("共 ", element("b", { textContent: String(total) }), " 人等候");
  if (longest) {
    summary.append("，最长已等 ", element("b", { class: "longest-all", dataset: { oldest: longest },
                                                  textContent: duration(now() - Date.parse(longest)) }));
  }
}

function tickDurations() {
  for (const node of document.querySelectorAll("[data-since]")) {
    if (node.dataset.since) node.textContent = duration(now() - Date.parse(node.dataset.since));
  }
  for (const node of document.querySelectorAll("[data-oldest]")) {
    if (node.dataset.oldest) node.textContent = duration(now() - Date.parse(node.dataset.oldest));
  }
}

// Warnings: open ones first, newest first; red and yellow in words and by icon.

function sortedWarnings() {
  return [...app.warnings.values()].sort((a, b) =>
    (!!a.acknowledged - !!b.acknowledged) || (b.seq - a.seq));
}

function renderWarnings() {
  const list = $("warnings");
  list.textContent = "";
  const open = { red: 0, yellow: 0 };
  for (const w of sortedWarnings()) {
    if (!w.acknowledged) open[w.level] += 1;
    const level = LEVELS[w.level] || { icon: "●", word: "预警" };
    const item = element("li", { class: "warning", dataset: { seq: String(w.seq), level: w.level,
                                                              acknowledged: w.acknowledged ? "yes" : "no" } });
    item.append(
      element("span", { class: "warning-level", textContent: `${level.icon} ${level.word}` }),
      element("span", { class: "warning-meta",
                        textContent: `${secondsClockOf(w.at)} · ${WARNING_KIND_NAMES[w.kind] || w.kind}` }));
    if (!w.acknowledged) {
      const button = element("button", { type: "button", class: "small primary", textContent:
        app.acking.has(w.seq) ? "确认中…" : "确认", disabled: app.acking.has(w.seq) || app.connection !== "online" });
      button.setAttribute("aria-label", `确认${level.word}：${w.text}`);
      button.addEventListener("click", () => acknowledge(w.seq));
      item.append(button);
    }
    item.append(element("p", { class: "warning-text", textContent: w.text }));
    if (w.acknowledged) {
      item.append(element("p", { class: "warning-done",
        textContent: `✓ 已确认：${w.acknowledged.by} ${secondsClockOf(w.acknowledged.at)}` }));
    }
    if (app.ackErrors.has(w.seq)) {
      item.append(element("p", { class: "warning-error", role: "alert", textContent: app.ackErrors.get(w.seq) }));
    }
    list.append(item);
  }
  if (!app.warnings.size) list.append(element("li", { class: "empty", textContent: "今天还没有预警" }));
  const summary = $("warnings-summary");
  summary.textContent = `待确认：红色 ${open.red}，黄色 ${open.yellow}`;
  summary.title = `今天共 ${app.warnings.size} 条预警`;
  const ackAll = $("ack-all");
  ackAll.hidden = open.red + open.yellow < 2;
  ackAll.disabled = app.connection !== "online" || app.acking.size > 0;
  ackAll.title = `确认全部 ${open.red + open.yellow} 条待确认的预警`;
  renderAlarms(open);
}

function renderAlarms(open) {
  const box = $("alarms");
  box.textContent = "";
  const items = [];
  if (open.red) items.push(["red", `${LEVELS.red.icon} ${LEVELS.red.word} ${open.red} 条待确认`]);
  if (open.yellow) items.push(["yellow", `${LEVELS.yellow.icon} ${LEVELS.yellow.word} ${open.yellow} 条待确认`]);
  if (!items.length) items.push(["none", "✓ 没有待确认的预警"]);
  for (const [level, text] of items) {
    const alarm = element("span", { class: "alarm", dataset: { level }, textContent: text });
    if (level !== "none") {
      alarm.setAttribute("role", "link");
      alarm.tabIndex = 0;
      const go = () => {
        if (location.hash === "#reports") location.hash = "#live";
        $("warnings").scrollTop = 0;
      };
      alarm.addEventListener("click", go);
      alarm.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    }
    box.append(alarm);
  }
}

async function acknowledge(seq) {
  if (app.acking.has(seq)) return;
  app.acking.add(seq);
  app.ackErrors.delete(seq);
  renderWarnings();
  const reply = await request("ack_warning", { warning: seq });
  app.acking.delete(seq);
  if (!reply.ok) app.ackErrors.set(seq, reply.error.message);
  renderWarnings();
}

// Each open warning acknowledged by its own ack_warning (the log keeps who saw each one).
async function acknowledgeAll() {
  const open = sortedWarnings().filter((w) => !w.acknowledged).map((w) => w.seq);
  if (!open.length || !window.confirm(`确认全部 ${open.length} 条待确认的预警？确认人记为“${app.name}”。`)) return;
  for (const seq of open) {
    app.acking.add(seq);
    app.ackErrors.delete(seq);
  }
  renderWarnings();
  const replies = await Promise.all(open.map((seq) => request("ack_warning", { warning: seq })
    .then((reply) => [seq, reply])));
  let failed = 0;
  for (const [seq, reply] of replies) {
    app.acking.delete(seq);
    if (!reply.ok) {
      failed += 1;
      app.ackErrors.set(seq, reply.error.message);
    }
  }
  renderWarnings();
  say(failed ? `已确认 ${open.length - failed} 条预警，${failed} 条未成功（原因见各条预警）`
             : `已确认 ${open.length} 条预警`, failed ? "error" : "ok");
}

// Devices: every device known today (connected now, or having reported), problems first.

function renderDevices() {
  const body = $("devices");
  body.textContent = "";
  const names = new Set([...app.online.keys(), ...app.reports.keys()]);
  const rows = [...names].map((name) => {
    const known = app.online.get(name);
    const online = Boolean(known && known.connections > 0);
    const report = app.reports.get(name) || {};
    const role = (known && known.role) || report.role;
    const printer = report.printer || null;
    const voice = (online && known.voice) || null;
    const problem = !online || (printer && printer !== "ok") || (voice && voice.state === "late");
    return { name, role, window: (known && known.window) || report.window, online,
             printer, detail: report.detail, voice,
             at: report.printer ? report.at : voice ? voice.at : null, problem };
  });
  const order = { kiosk: 0, display: 1, pad: 2 };
  rows.sort((a, b) => (b.problem - a.problem) || ((order[a.role] ?? 9) - (order[b.role] ?? 9))
    || a.name.localeCompare(b.name, "zh-CN", { numeric: true }));
  let offline = 0;
  let faults = 0;
  let late = 0;
  for (const d of rows) {
    if (!d.online) offline += 1;
    if (d.printer && d.printer !== "ok") faults += 1;
    if (d.voice && d.voice.state === "late") late += 1;
    const kind = `${ROLE_NAMES[d.role] || d.role || ""}${d.window ? `（${d.window}号窗口）` : ""}`;
    let printer;
    if (d.printer) {
      const word = PRINTER_STATE_NAMES[d.printer] || d.printer;
      const cls = d.printer === "ok" ? "good" : d.printer === "paper_low" ? "warn-text" : "bad";
      printer = element("span", { class: cls, textContent: `${d.printer === "ok" ? "✓" : "⚠"} ${word}` });
      if (d.detail) printer.title = d.detail;
    } else if (d.voice) {
      printer = voiceText(d.voice);
    } else {
      printer = d.role === "kiosk" ? "未上报" : "—";
    }
    body.append(element("tr", { dataset: { device: d.name, problem: d.problem ? "yes" : "no" } },
      element("td", { textContent: d.name }),
      element("td", { textContent: kind }),
      element("td", {}, element("span", { class: d.online ? "good" : "bad",
                                          textContent: d.online ? "● 在线" : "✕ 离线" })),
      element("td", {}, printer),
      element("td", { textContent: d.at ? secondsClockOf(d.at) : "" })));
  }
  if (!rows.length) {
    body.append(element("tr", {}, element("td", { colSpan: 5, class: "empty",
                                                  textContent: "还没有登记设备（queue-server device add）" })));
  }
  const summary = $("devices-summary");
  summary.textContent = "";
  summary.append(`在线 `, element("b", { textContent: String(rows.length - offline) }),
                 ` · 离线 `, element("b", { textContent: String(offline) }),
                 ` · 打印机异常 `, element("b", { textContent: String(faults) }));
  if (late) summary.append(` · ${VOICE_STATE_NAMES.late} `, element("b", { textContent: String(late) }));
}

// A board's voice backlog (its `device_status`): "语音积压 3 条 · 41 秒", red when a call waited
// longer than the hall's bound (voice_wait_seconds) for its first word lately.
function voiceText(voice) {
  const late = voice.state === "late";
  const icon = late ? "⚠ " : voice.state === "idle" ? "✓ " : "";
  const piece = (text) => element("span", { class: "unbroken", textContent: text });
  const parts = [piece(`${icon}${VOICE_STATE_NAMES[voice.state] || voice.state}`)];
  if (voice.calls) parts.push(" ", piece(`${voice.calls} 条`), " · ", piece(`${voice.seconds} 秒`));
  if (late) parts.push(" · ", piece(`最久等 ${voice.worst} 秒`));
  const span = element("span", { class: late ? "bad" : voice.state === "idle" ? "good" : "" }, ...parts);
  span.title = voice.worst === null ? `叫号开口等候上限 ${voice.bound} 秒`
    : `最近叫号到开口最久等了 ${voice.worst} 秒（上限 ${voice.bound} 秒）`;
  return span;
}

// Notice and 绿色通道.

function renderNotice() {
  const current = $("current-notice");
  current.textContent = "";
  current.title = app.notice || "";
  if (app.notice) current.append("当前公告：", element("b", { textContent: app.notice }));
  else current.append("当前没有公告");
  $("notice-clear").disabled = !app.notice || app.connection !== "online";
}

function renderOpsEnabled() {
  const off = app.connection !== "online";
  $("notice-publish").disabled = off;
  $("green-button").disabled = off;
  $("notice-clear").disabled = off || !app.notice;
  if (app.hall) renderWarnings();
}

function result(id, text, kind) {
  const node = $(id);
  node.textContent = text;
  node.dataset.kind = kind;
}

async function publishNotice(text) {
  const chars = [...text].length;
  if (chars > 300) {
    result("notice-result", `公告不能超过 300 字（现在 ${chars} 字）`, "error");
    return;
  }
  $("notice-publish").disabled = true;
  result("notice-result", "正在发布…", "");
  const reply = await request("set_notice", { text });
  renderOpsEnabled();
  if (reply.ok) {
    result("notice-result", text.trim() ? "公告已发布" : "公告已清除", "ok");
    $("notice-text").value = "";
    countNotice();
  } else {
    result("notice-result", reply.error.message, "error");
  }
}

function countNotice() {
  const n = [...$("notice-text").value].length;
  $("notice-count").textContent = `${n}/300`;
}

async function greenChannel() {
  const number = $("green-number").value.trim().toUpperCase();
  if (!number) {
    result("green-result", "请输入要开通绿色通道的号码", "error");
    $("green-number").focus();
    return;
  }
  $("green-button").disabled = true;
  result("green-result", "正在开通…", "");
  const reply = await request("set_priority", { number, priority: "green" });
  renderOpsEnabled();
  if (reply.ok) {
    result("green-result", `${number} 已开通绿色通道，排到本类第一位`, "ok");
    $("green-number").value = "";
  } else {
    result("green-result", reply.error.message, "error");
  }
}

// The entrance's poster of the mobile 取号 page: a link (10 minutes) to an A4 page to print, with
// the QR of /take and today's hall code, opened by the manager's own tap (no pop-up).
async function takePoster() {
  $("poster-button").disabled = true;
  result("poster-result", "正在生成…", "");
  const reply = await request("take_poster");
  $("poster-button").disabled = false;
  if (!reply.ok) {
    result("poster-result", reply.error.message, "error");
    return;
  }
  const node = $("poster-result");
  node.dataset.kind = "ok";
  node.replaceChildren(element("a", { href: reply.url, target: "_blank", rel: "noopener",
    id: "poster-link", textContent: "打开海报并打印（10 分钟内有效）" }));
}

// --- start --------------------------------------------------------------------------------------

// A list of the side column cut at its pane's bottom edge says so: `data-more=yes` while rows
// lie below what is shown, and manager.css fades the cut row out. Only an attribute is set, so
// the observers never change the sizes they watch.
function hintScroll(box) {
  const mark = () => {
    box.dataset.more = box.scrollHeight - box.scrollTop - box.clientHeight > 1 ? "yes" : "no";
  };
  box.addEventListener("scroll", mark, { passive: true });
  new ResizeObserver(mark).observe(box);
  new MutationObserver(mark).observe(box, { childList: true, subtree: true, characterData: true });
}

function start() {
  onLoginForm(logIn);
  for (const box of document.querySelectorAll(".live-side .table-scroll, .live-side ol")) {
    hintScroll(box);
  }
  $("logout-button").addEventListener("click", () => logOut("已退出登录"));
  $("ack-all").addEventListener("click", acknowledgeAll);
  $("poster-button").addEventListener("click", takePoster);
  $("status-filter-warned").before(...Object.entries(WINDOW_STATE_NAMES).map(
    ([value, textContent]) => element("option", { value, textContent })));
  for (const id of ["group-by", "group-filter", "status-filter"]) {
    $(id).addEventListener("change", () => {
      if (id === "group-by") fillGroupFilter();
      renderWindows();
      renderQueues();
    });
  }
  $("window-search").addEventListener("input", renderWindows);
  $("queues-waiting-only").addEventListener("change", renderQueues);
  $("notice-text").addEventListener("input", countNotice);
  $("notice-form").addEventListener("submit", (event) => {
    event.preventDefault();
    publishNotice($("notice-text").value);
  });
  $("notice-clear").addEventListener("click", () => publishNotice(""));
  $("green-form").addEventListener("submit", (event) => {
    event.preventDefault();
    greenChannel();
  });
  window.addEventListener("hashchange", showView);
  showScreen("login");
  renderTop();
  const pass = passGiven();
  if (pass) startSession({ role: "manager", pass });
  setInterval(() => { tickClock(); tickDurations(); }, 1000);
  if (window.Cases) {
    window.Cases.attach({
      request, onHello: (hook) => app.loginHooks.push(hook),
      onEvent: (hook) => app.eventHooks.push(hook), online: () => app.connection === "online",
    });
  }
  if (window.Bookings) {
    window.Bookings.attach({ onHello: (hook) => app.loginHooks.push(hook),
                             onEvent: (hook) => app.eventHooks.push(hook) });
  }
  if (window.Points) {
    window.Points.attach({ request, onHello: (hook) => app.loginHooks.push(hook),
                           onEvent: (hook) => app.eventHooks.push(hook) });
  }
  if (window.Complaints) {
    window.Complaints.attach({
      request, onHello: (hook) => app.loginHooks.push(hook),
      onEvent: (hook) => app.eventHooks.push(hook), online: () => app.connection === "online",
    });
  }
  if (window.Reports) {
    window.Reports.attach({
      request, hall: () => app.hall, today: () => app.day,
      onHello: (hook) => app.loginHooks.push(hook), online: () => app.connection === "online",
    });
  }
}

start();
