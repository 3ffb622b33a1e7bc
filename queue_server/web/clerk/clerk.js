// The clerk console (/clerk): log in with badge and PIN, choose the window and post, then call,
// recall, skip, transfer, hold, finish and pause at that window (docs/clerk-console.md).
//
// The server is the truth. The page holds the last hello reply (the hall, the queues, the
// windows) and the clerk's own view (`clerk` in the hello reply, then each `{"ev": "clerk"}`
// event the server sends after anything that concerns this clerk). An op's reply only patches
// that view until the server's next `clerk` event replaces it. After a reconnect, HallSocket
// says hello again and everything is replaced by the reply. Badge and PIN live only in the
// HallSocket's memory, never in storage. The hall's words (priorities, posts, statuses) are
// the server's (VOCABULARY, from /common/vocabulary.js).
"use strict";

const { BOOKED_MARK, CASE_ACTION_NAMES, CASE_DUE_NAMES, PRIORITY_NAMES,
        POST_NAMES, WINDOW_STATUS_NAMES } = VOCABULARY;
// POINT_STAGE_NAMES and the other words of the 代办 cases: inbox.js (loaded before this file).
const ACTION_NAMES = {
  call_next: "呼叫下一位", recall: "重呼", no_show: "过号", transfer: "转移", hold: "挂起",
  finish: "办结", pause: "暂停", resume: "恢复", sign_out: "签退", call_number: "叫指定号",
};
const OFFLINE_TEXT = "连接中断，正在重连…";
const STILL_BUSY = "正在处理上一项操作，请稍候再点";


const app = {
  socket: null,
  connection: "idle",  // idle | connecting | online | offline
  everOnline: false,
  wasOffline: false,   // the connection dropped since the last hello
  newDay: null,        // the day of a `day_started` whose hello is under way
  hall: null,          // snapshot.hall
  windows: new Map(),  // window number → the live window view (snapshot.live.windows, `window`)
  queues: new Map(),   // category → {category, waiting, next, booked, seq}
  clerk: null,         // the console view (queue_server/views.py clerk_view)
  appeal: null,        // {case, text, error}: the appeal being written, kept across redraws
  batch: null,         // {ticket, point, pointName, cases, error}: the 代办 batch ticket in hand's cases
  withdrawError: null, // {case, message}: the server's refusal of our last 撤回申诉
  clerkSeq: -1,
  screen: "login",
  busy: false,
  signingOut: false,
  takeover: null,      // {window, post, holder} offered after a refused sign-in
  skew: 0,             // server clock − this PC's clock in ms, when they differ by over 2 s
  message: { text: "", kind: "info" },
};

// --- small helpers ------------------------------------------------------------------------------

const clockOf = (iso) => (iso ? iso.slice(11, 16) : "");   // the hall's own local time, as sent

function say(text, kind = "info") {
  app.message = { text, kind };
  renderMessage();
}

function noteServerClock(at) {
  app.skew = clockSkew(at, app.skew);
}

function windowDef(number) {
  return app.hall ? app.hall.windows.find((w) => w.window === number) : null;
}

function categoryName(prefix) {
  const category = app.hall && app.hall.categories.find((c) => c.prefix === prefix);
  return category ? category.name : "";
}

// --- the session -------------------------------------------------------------------------------

function logIn(badge, pin) {
  if (app.socket) app.socket.stop();
  app.everOnline = false;
  // A stopped HallSocket calls none of its handlers again, so an old session is silent.
  app.socket = new HallSocket({ role: "clerk", badge, pin }, { onStatus, onHello, onEvent, onRefused });
}

function logOut(message) {
  if (app.socket) app.socket.stop();
  app.socket = null;
  app.clerk = null;
  app.connection = "idle";
  app.takeover = null;
  closeDialogs();
  $("login-button").disabled = false;
  $("login-button").textContent = "登录";
  showScreen("login");
  app.message = { text: message || "", kind: "info" };
  render();
}

function onStatus(state) {
  app.connection = state;
  if (state === "online") app.everOnline = true;
  if (state === "offline" && app.everOnline) app.wasOffline = true;
  if (app.screen === "login") {
    $("login-error").textContent = state === "offline" ? OFFLINE_TEXT : "";
    $("login-button").disabled = state !== "offline";   // offline: may try again
    $("login-button").textContent = state === "offline" ? "登录" : "正在登录…";
  }
  render();
}

function onRefused(error) {
  const again = app.everOnline;
  logOut(error.code === "revoked" ? "登录已失效，您已退出"
    : again ? "重新连接时登录未通过，请重新登录" : "");
  $("login-error").textContent = error.message || "登录未通过";
  $("pin").focus();
}

function onHello(reply) {
  const before = app.clerk;
  const snapshot = reply.snapshot;
  app.hall = snapshot.hall;
  buildOutcomes(app.hall.outcomes);
  app.windows = new Map(snapshot.live.windows.map((w) => [w.window, w]));
  app.queues = new Map(snapshot.live.queues.map((q) => [q.category, { ...q, seq: reply.seq }]));
  $("login-form").reset();
  $("login-button").disabled = false;
  $("login-button").textContent = "登录";
  if (app.screen === "login") say("");
  if (app.wasOffline) say("已重新连接，显示的是服务器上的最新状态", "ok");
  app.wasOffline = false;
  if (app.newDay) {
    say(`新的服务日（${app.newDay}）已开始${reply.clerk.window ? "" : "，请选择窗口签到"}`, "info");
  }
  applyClerk(reply.clerk, reply.seq, before);
  app.newDay = null;
  refreshInbox();   // 代办件 (inbox.js): what changed while away
}

function onEvent(event) {
  noteServerClock(event.at);
  switch (event.ev) {
    case "clerk":
      if (event.seq >= app.clerkSeq) applyClerk(event, event.seq, app.clerk);
      break;
    case "queue": {
      const known = app.queues.get(event.category);
      if (!known || event.seq >= known.seq) {
        app.queues.set(event.category, { category: event.category, waiting: event.waiting,
                                         next: event.next, booked: event.booked, seq: event.seq });
        renderQueues();
        renderTicket();
      }
      break;
    }
    case "window": {
      const known = app.windows.get(event.window);
      if (!known || known.seq === undefined || event.seq >= known.seq) {
        app.windows.set(event.window, event);
        if (app.screen === "choose") renderChooser();
      }
      break;
    }
    case "point_cases":   // a village point's cases changed: 代办件 (inbox.js)
      refreshInbox();
      break;
    case "day_started":
      app.newDay = event.day;
      say("新的服务日已开始，正在重新载入…");
      app.socket.rehello();
      break;
    default:
      break;
  }
}

// Replace the clerk's view and show the screen it calls for; say so if the clerk was signed out
// by someone or something else (a takeover, the day's close).
function applyClerk(view, seq, before) {
  app.clerk = view;
  app.clerkSeq = seq;
  const left = before && before.window && !view.window ? before.window : null;
  if (left && !app.signingOut && !app.newDay) {
    const holder = app.windows.get(left) && app.windows.get(left).clerk;
    say(holder && holder.badge !== view.me.badge
      ? `${left} 号窗口已由${holder.name}（${holder.post}岗）接替，您已签退`
      : `您已不在 ${left} 号窗口签到`, "error");
  }
  app.signingOut = false;
  const screen = view.window ? "main" : "choose";
  if (screen !== app.screen) closeDialogs();
  else closeStaleDialogs();
  showScreen(screen);
  render();
}

// An op's reply, until the server's `clerk` event replaces the whole view.
function patchClerk(changes) {
  app.clerk = { ...app.clerk, ...changes };
  render();
}

// One request at a time: the server answers a clerk's requests in order anyway, and a double
// click must not call twice. Resolves with the reply, or null when another one is under way:
// then the clerk is told so, since a click that does nothing and says nothing is a click lost
// (it is not queued either: the second click of a double click would call a second citizen).
async function send(op, params = {}) {
  if (app.busy) return stillBusy();
  if (!app.socket) return null;
  app.busy = true;
  document.body.setAttribute("aria-busy", "true");
  try {
    return await app.socket.request(op, params);
  } finally {
    app.busy = false;
    document.body.removeAttribute("aria-busy");
    if (app.message.text === STILL_BUSY) say("");   // done: the clerk may click again
  }
}

// --- screens -----------------------------------------------------------------------------------

function showScreen(screen) {
  const changed = app.screen !== screen;
  app.screen = screen;
  for (const name of ["login", "choose", "main"]) $(`${name}-screen`).hidden = name !== screen;
  document.body.dataset.screen = screen;
  if (!changed) return;
  if (screen === "login") $("badge").focus();
  if (screen === "choose") {
    $("choose-error").textContent = "";
    app.takeover = null;
  }
  if (screen === "main") document.activeElement && document.activeElement.blur();
}

function render() {
  renderTop();
  renderMessage();
  if (app.screen === "choose") renderChooser();
  if (app.screen === "main") {
    renderTicket();
    renderButtons();
    renderQueues();
    renderHeld();
    renderToday();
    renderRatings();
    renderCases();
  }
  noteInboxWindow();   // 代办件 (inbox.js)
}

function renderTop() {
  $("hall-name").textContent = app.hall ? app.hall.name : "窗口工作台";
  const c = app.clerk;
  const where = $("where");
  where.textContent = "";
  if (c && app.screen !== "login") {
    if (c.window) {
      const def = windowDef(c.window);
      where.append(element("strong", { textContent: `${c.window} 号窗口` }),
                   ` ${def ? def.name : ""} · ${POST_NAMES[c.post] || ""} · `);
    }
    where.append(`${c.me.name}（${c.me.badge}）`);
  }
  const status = $("window-status");
  status.hidden = !(c && c.window && app.screen === "main");
  if (!status.hidden) {
    let state = "idle";
    let text = "空闲";
    if (c.status === "paused") {
      state = "paused";
      text = `暂停服务${c.reason ? `：${c.reason}` : ""}`;
    } else if (c.current) {
      state = "serving";
      text = `办理中：${c.current.number}`;
    }
    status.dataset.state = state;
    status.textContent = text;
  }
  const connection = $("connection");
  connection.dataset.state = app.connection;
  connection.textContent = {
    idle: "", connecting: "正在连接…", online: "已连接", offline: "连接中断",
  }[app.connection];
  tickClock();
}

function renderMessage() {
  const bar = $("message");
  const offline = app.socket && app.connection !== "online" && app.everOnline;
  const { text, kind } = offline
    ? { text: `${OFFLINE_TEXT}（操作按钮暂不可用）`, kind: "error" } : app.message;
  bar.textContent = text;
  bar.dataset.kind = text ? kind : "";
}

function renderChooser() {
  const c = app.clerk;
  if (!c) return;
  const me = c.me;
  $("choose-who").textContent = `${me.name}（工号 ${me.badge}）${me.department ? ` · ${me.department}` : ""}`;
  const list = $("post-list");
  list.textContent = "";
  if (!me.posts.length) {
    list.append(element("p", { class: "form-error",
                               textContent: "您没有被安排到任何窗口，请联系大厅管理人员" }));
  }
  for (const post of me.posts) {
    const def = windowDef(post.window);
    const holder = app.windows.get(post.window) && app.windows.get(post.window).clerk;
    const state = !holder ? "当前无人在岗"
      : holder.badge === me.badge ? "您已在此窗口签到"
        : `当前：${holder.name}（${holder.post}岗）在岗`;
    const button = element("button", { type: "button", class: "post", disabled: app.busy },
      element("span", { class: "post-window", textContent: `${post.window} 号窗口` }),
      element("span", { class: "post-name", textContent: def ? def.name : "" }),
      element("span", { class: "post-post", textContent: POST_NAMES[post.post] }),
      element("span", { class: "post-state", textContent: state }));
    button.addEventListener("click", () => signIn(post.window, post.post, false));
    list.append(button);
  }
  const takeover = $("takeover-button");
  takeover.hidden = !app.takeover;
  if (app.takeover) {
    takeover.textContent = `接替 ${app.takeover.window} 号窗口（${app.takeover.post}岗）`;
  }
}

function renderTicket() {
  const c = app.clerk;
  if (!c || !c.window) return;
  const t = c.current;
  $("ticket-body").hidden = !t;
  $("ticket-empty").hidden = !!t;
  $("call-number-form").hidden = !!t;
  if (!t) {
    const empty = $("ticket-empty");
    empty.textContent = "";
    if (c.status === "paused") {
      empty.append(element("p", { class: "empty-main paused", textContent: "窗口暂停服务中" }),
                   element("p", { textContent: `原因：${c.reason || "未填写"}` }),
                   element("p", { class: "hint", textContent: "点“恢复”（按键 8）后继续叫号" }));
    } else {
      const waiting = myCategories().reduce((n, p) => n + ((app.queues.get(p) || {}).waiting || 0), 0);
      empty.append(element("p", { class: "empty-main", textContent: "当前没有正在办理的号" }),
                   element("p", { textContent: waiting ? `本窗口的业务有 ${waiting} 人等候`
                                                       : "本窗口的业务暂时无人等候" }),
                   element("p", { class: "hint", textContent: "点“呼叫下一位”（按键 1）叫号" }));
    }
    return;
  }
  $("ticket-number").textContent = t.number;
  $("ticket-category").textContent = `${t.category} 类 · ${t.category_name || categoryName(t.category)}`;
  $("ticket-service").textContent = t.service_name || "取号时未选择具体事项";
  const tags = $("ticket-tags");
  tags.textContent = "";
  tags.append(element("span", { class: "tag", textContent: t.kind_text || t.kind }));
  if (t.booked) {   // a checked-in booking: 预约 and its slot (queued by the slot's start)
    tags.append(element("span", { class: "tag booked", textContent: `${BOOKED_MARK} ${t.slot_text}` }));
  }
  if (t.priority !== "normal" && PRIORITY_NAMES[t.priority]) {   // 普通 goes without saying
    tags.append(element("span", { class: "tag priority", textContent: PRIORITY_NAMES[t.priority] }));
  }
  if (t.recalls) tags.append(element("span", { class: "tag", textContent: `已重呼 ${t.recalls} 次` }));
  if (t.transfers) tags.append(element("span", { class: "tag", textContent: `转来 ${t.transfers} 次` }));
  const history = $("ticket-history");
  history.textContent = "";
  const lines = (t.history || []).map((step) => element("li", {},
    element("span", { class: "at", textContent: clockOf(step.at) }), ` ${step.text}`));
  if (t.hold_reason) {
    lines.push(element("li", {}, element("span", { class: "at", textContent: "挂起" }),
                       ` 原因：${t.hold_reason}`));
  }
  if (lines.length) {
    history.append(element("h3", { textContent: "流转记录" }), element("ul", {}, ...lines));
  }
  renderBatch(t);
  tickTimes();
}

// --- a 代办 batch ticket: every case the agent brought, received here -------------------------
// The cases are read as the town holds them (`point_cases`) when such a ticket is in hand, and
// each is received with `point_answer` (town_received, at this window), checked by the written
// rules on the server.

function renderBatch(t) {
  const panel = $("batch-panel");
  panel.hidden = !t.cases || !t.cases.length;
  $("ticket-body").classList.toggle("with-batch", !panel.hidden);
  if (panel.hidden) return;
  const b = app.batch;
  if (!b || b.ticket !== t.number) {
    app.batch = { ticket: t.number, point: t.point, cases: null, error: "" };
    loadBatch();
  }
  $("ticket-service").textContent = `代办点送来 ${t.cases.length} 件，事项见下表`;
  const { cases, error } = app.batch;
  const waiting = cases ? cases.filter((c) => c.stage === "recorded") : [];
  const agent = cases && cases.length ? ` · 代办员 ${cases[0].agent}` : "";
  const where = app.batch.pointName ? `${app.batch.pointName}（${t.point}）` : `代办点 ${t.point}`;
  $("batch-title").textContent = `代办送件 · ${where}${agent} · 共 ${t.cases.length} 件`;
  $("batch-receive-all").hidden = !waiting.length;
  $("batch-receive-all").textContent = `全部接收（${waiting.length} 件）`;
  $("batch-note").textContent = error || (!cases ? "正在读取送来的件…"
    : waiting.length ? `未接收 ${waiting.length} 件：核对材料后点“接收”` : "本次送来的件已全部接收");
  $("batch-note").classList.toggle("error", !!error);
  const rows = (cases || []).map((c) => element("tr", { dataset: { case: c.case } },
    element("td", { class: "case-no", textContent: c.case }),
    element("td", { textContent: c.item_name }),
    element("td", { textContent: `${c.name} ${c.phone}` }),
    element("td", { textContent: c.materials.join("、") || "无" }),
    element("td", {}, c.stage === "recorded"
      ? element("button", { type: "button", class: "small", textContent: "接收",
                            onclick: () => receiveCases([c.case]) })
      : element("span", { class: "tag", textContent: POINT_STAGE_NAMES[c.stage] || c.stage }))));
  $("batch-cases").replaceChildren(...rows);
}

async function loadBatch() {
  const b = app.batch;
  const reply = await app.socket.request("point_cases", { point: b.point });
  if (app.batch !== b) return;   // another ticket meanwhile
  if (!reply.ok) {
    b.error = reply.error.message;
  } else {
    const wanted = new Set(app.clerk.current ? app.clerk.current.cases : []);
    b.cases = reply.cases.filter((c) => wanted.has(c.case));
    b.pointName = reply.point_name;
  }
  render();
}

// Receives the cases one by one; a refusal is said and the rest go on.
async function receiveCases(numbers) {
  const b = app.batch;
  const refused = [];
  for (const number of numbers) {
    const reply = await send("point_answer", { point: b.point, case: number, kind: "town_received" });
    if (!reply) return;
    if (!reply.ok) refused.push(reply.error.message);
  }
  if (refused.length) say(refused.join("；"), "error");
  else say(`已接收 ${numbers.length} 件`, "ok");
  await loadBatch();
}

function batchWaiting() {
  const b = app.batch;
  const t = app.clerk.current;
  if (!b || !t || b.ticket !== t.number || !b.cases) return 0;
  return b.cases.filter((c) => c.stage === "recorded").length;
}

// 办结 of a batch ticket with cases not received asks first.
function finishBatch() {
  const waiting = batchWaiting();
  if (!waiting) return openFinish();
  const number = app.clerk.current.number;
  confirmThen({
    title: `${number} 号还有未接收的件`,
    text: `本次送来的件还有 ${waiting} 件未接收。确定不接收就办结吗？未接收的件仍在代办点，可以下次再送。`,
    ok: "仍然办结",
    ticket: number,
    run: () => { closeDialogs(); openFinish(); return null; },
  });
}

function tickTimes() {
  const t = app.clerk && app.clerk.current;
  if (!t || app.screen !== "main") return;
  const issued = Date.parse(t.issued_at);
  const called = Date.parse(t.called_at);
  const waited = Math.max(0, Math.round((called - issued) / 60000));
  const served = Math.max(0, Math.floor((Date.now() + app.skew - called) / 1000));
  const times = $("ticket-times");
  times.textContent = "";
  times.append(
    element("span", {}, `取号 ${clockOf(t.issued_at)} · 叫号 ${clockOf(t.called_at)}`),
    element("span", {}, "已等候 ", element("b", { textContent: String(waited) }), " 分钟"),
    element("span", {}, "已办理 ",
            element("b", { textContent: `${Math.floor(served / 60)} 分 ${String(served % 60).padStart(2, "0")} 秒` })));
}

// Why each action cannot be used now (null: it can).
function unavailable() {
  const c = app.clerk || {};
  const serving = c.current;
  const paused = c.status === "paused";
  if (app.connection !== "online") {
    return Object.fromEntries(Object.keys(ACTION_NAMES).map((op) => [op, OFFLINE_TEXT]));
  }
  const noTicket = "当前没有正在办理的号";
  const call = paused ? "窗口已暂停服务，请先点“恢复”"
    : serving ? `${serving.number} 号尚未办结，请先办结、过号、挂起或转移` : null;
  return {
    call_next: call,
    call_number: call,
    recall: serving ? null : noTicket,
    no_show: serving ? null : noTicket,
    transfer: serving ? null : noTicket,
    hold: serving ? null : noTicket,
    finish: serving ? null : noTicket,
    pause: paused ? "窗口已经暂停" : serving ? `${serving.number} 号尚未办结，请先办结再暂停` : null,
    resume: paused ? null : "窗口没有暂停",
    sign_out: serving ? `${serving.number} 号尚未办结，请先办结、挂起或转移再签退` : null,
  };
}

function renderButtons() {
  const why = unavailable();
  for (const button of document.querySelectorAll(".actions [data-action]")) {
    const reason = why[button.dataset.action];
    button.disabled = !!reason;
    button.title = reason || "";
  }
  $("call-number-button").disabled = !!why.call_number;
  $("call-number-button").title = why.call_number || "";
  renderHeld();
}

// 叫指定号: a citizen who came back, or one the clerk was told to take (docs/hall-rules.md).
async function callNumber() {
  const number = $("call-number-input").value.replace(/\s+/g, "").toUpperCase();
  const reason = unavailable().call_number;
  if (reason) return say(`现在不能“${ACTION_NAMES.call_number}”：${reason}`, "error");
  if (!number) return say("请输入要呼叫的号码，如 A012", "error");
  const reply = await send("call_number", { number });
  if (!reply) return;
  if (!reply.ok) return say(reply.error.message, "error");
  $("call-number-input").value = "";
  patchClerk({ current: reply.ticket });
  say(`已呼叫 ${reply.ticket.number} 号`, "ok");
}

function myCategories() {
  const def = app.clerk && windowDef(app.clerk.window);
  return def ? def.categories : [];
}

function renderQueues() {
  if (app.screen !== "main") return;
  const list = $("queues");
  list.textContent = "";
  for (const prefix of myCategories()) {
    const q = app.queues.get(prefix) || { waiting: 0, next: [] };
    const booked = new Set(q.booked || []);
    const next = q.next.slice(0, 4).flatMap((number, i) => [i ? " " : "", number,
      booked.has(number) ? element("small", { class: "mark", textContent: BOOKED_MARK }) : ""]);
    list.append(element("li", { dataset: { category: prefix } },
      element("span", { class: "q-name", textContent: `${prefix} ${categoryName(prefix)}` }),
      element("span", { class: "q-count" }, "等候 ", element("b", { textContent: String(q.waiting) }), " 人"),
      q.next.length ? element("span", { class: "q-next" }, "下一位：", ...next)
        : element("span", { class: "q-next", textContent: "无人等候" })));
  }
}

function renderHeld() {
  if (app.screen !== "main") return;
  const held = app.clerk.held || [];
  const list = $("held");
  list.textContent = "";
  $("held-title").textContent = held.length ? `挂起的号（${held.length}）` : "挂起的号";
  if (!held.length) {
    list.append(element("li", { class: "none", textContent: "没有挂起的号" }));
    return;
  }
  const why = unavailable().call_next;
  for (const t of held) {
    const button = element("button", { type: "button", class: "small", disabled: !!why,
                                       title: why || "", textContent: "叫回" });
    button.setAttribute("aria-label", `叫回 ${t.number} 号`);
    button.addEventListener("click", () => resumeHeld(t.number));
    list.append(element("li", { dataset: { number: t.number } },
      element("span", { class: "held-number", textContent: t.number }),
      element("span", { class: "held-reason", textContent: t.hold_reason || "" }),
      button));
  }
}

function renderToday() {
  const today = (app.clerk && app.clerk.today) || {};
  const dl = $("today");
  dl.textContent = "";
  for (const [key, label] of [["accepted", "受理"], ["finished", "办结"], ["no_show", "过号"]]) {
    dl.append(element("div", { class: "figure", dataset: { key } },
      element("dt", { textContent: label }), element("dd", { textContent: String(today[key] ?? 0) })));
  }
}

function renderRatings() {
  const r = app.clerk && app.clerk.ratings;
  const box = $("ratings");
  box.textContent = "";
  if (!r || !r.finished) {
    box.append(element("p", { class: "none", textContent: "今天还没有办结的号，暂无评价" }));
    return;
  }
  const figures = element("dl", { class: "figures" });
  const add = (key, label, value) => figures.append(element("div", { class: "figure", dataset: { key } },
    element("dt", { textContent: label }), element("dd", { textContent: value })));
  add("rated", METRIC_NAMES.rated, String(r.rated));
  add("satisfied", METRIC_NAMES.satisfied_pct, r.satisfied_pct === null ? "暂无" : `${r.satisfied_pct}%`);
  add("mean", METRIC_NAMES.score_mean, r.mean === null ? "暂无" : r.mean.toFixed(1));
  add("unrated", "未评", r.pending ? `${r.unrated}（待评 ${r.pending}）` : String(r.unrated));
  box.append(figures);
  if (r.rated) {
    const scores = ["5", "4", "3", "2", "1"].map((s) => `${s}分 ${r.scores[s]}`).join(" · ");
    box.append(element("p", { class: "scores", textContent: scores }));
  }
}

// My open 差评 cases (差评工单), past or near their deadline first. A clerk may only appeal
// (申诉) one still 待核实, with a reason, and withdraw (撤回申诉) that appeal while it is
// undecided; the handling and its closing are the managers'.
function renderCases() {
  const cases = [...((app.clerk && app.clerk.cases) || [])].sort((a, b) =>
    (!!b.due - !!a.due) || a.deadline.localeCompare(b.deadline));
  const list = $("cases");
  list.textContent = "";
  $("cases-title").textContent = `我的差评工单（${cases.length}）`;
  $("cases-panel").hidden = !cases.length;
  for (const c of cases) {
    const item = element("li", { class: "case", dataset: { case: c.case, due: c.due || "" } },
      element("div", { class: "case-head" },
        element("span", { class: "case-status", textContent: c.status_text }),
        c.due && element("span", { class: "case-due", textContent: CASE_DUE_NAMES[c.due] }),
        element("span", { class: "case-deadline", textContent: `期限 ${c.deadline.slice(5).replace("-", "月")}日` })),
      element("p", { class: "case-about", textContent:
        `${c.ticket} 号 “${c.score_name}”${c.reasons.length ? `：${c.reasons.join("、")}` : ""}` }));
    if (app.appeal && app.appeal.case === c.case) {
      const reason = element("textarea", { rows: 2, maxLength: 500, value: app.appeal.text,
                                           "aria-label": "申诉理由" });
      reason.addEventListener("input", () => {
        app.appeal.text = reason.value;
        app.appeal.error = "";
        const said = item.querySelector(".case-error");
        if (said) said.remove();
      });
      const submit = element("button", { type: "button", class: "small", textContent: "提交申诉" });
      submit.addEventListener("click", () => appeal(c.case));
      const cancel = element("button", { type: "button", class: "small plain", textContent: "取消" });
      cancel.addEventListener("click", () => { app.appeal = null; renderCases(); });
      item.append(reason, element("div", { class: "case-acts" }, submit, cancel));
      if (app.appeal.error) item.append(element("p", { class: "case-error", role: "alert", textContent: app.appeal.error }));
    } else if (c.actions.includes("appeal")) {
      const button = element("button", { type: "button", class: "small plain",
                                         textContent: CASE_ACTION_NAMES.appeal });
      button.addEventListener("click", () => { app.appeal = { case: c.case, text: "", error: "" }; renderCases(); });
      item.append(element("div", { class: "case-acts" }, button));
    } else if (c.actions.includes("withdraw") && c.appeal.clerk === app.clerk.me.badge) {
      // my own appeal, still 申诉中: I may take it back (a manager's appeal is theirs to withdraw)
      const button = element("button", { type: "button", class: "small plain",
                                         textContent: CASE_ACTION_NAMES.withdraw });
      button.addEventListener("click", () => withdraw(c.case));
      item.append(element("div", { class: "case-acts" }, button));
      if (app.withdrawError && app.withdrawError.case === c.case) {
        item.append(element("p", { class: "case-error", role: "alert", textContent: app.withdrawError.message }));
      }
    }
    list.append(item);
  }
}

async function appeal(number) {
  const text = app.appeal.text.trim();
  if (!text) {
    app.appeal.error = "请填写申诉理由";
    renderCases();
    return;
  }
  const reply = await send("appeal_case", { case: number, reason: text });
  if (!reply) return;
  if (reply.ok) {
    app.appeal = null;
    say("申诉已提交，等待管理人员审核", "ok");
  } else {
    app.appeal.error = reply.error.message;
  }
  renderCases();
}

async function withdraw(number) {
  app.withdrawError = null;
  const reply = await send("withdraw_appeal", { case: number });
  if (!reply) return;
  if (reply.ok) say("申诉已撤回，工单回到待核实", "ok");
  else app.withdrawError = { case: number, message: reply.error.message };
  renderCases();
}

function tickClock() {
  $("clock").textContent = hallClockText(app.hall && app.hall.timezone, Date.now() + app.skew);
}

// --- actions -----------------------------------------------------------------------------------

async function signIn(window, post, takeover) {
  const reply = await send("sign_in", { window, post, takeover });
  if (!reply) return null;
  if (reply.ok) {
    app.takeover = null;
    say(`已在 ${window} 号窗口签到（${POST_NAMES[post]}）`, "ok");
    applyClerk(reply.clerk, app.clerkSeq, app.clerk);
    return reply;
  }
  $("choose-error").textContent = reply.error.message;
  const holder = app.windows.get(window) && app.windows.get(window).clerk;
  const someoneElse = holder && holder.badge !== app.clerk.me.badge;
  app.takeover = reply.error.code === "conflict" && !takeover
    && (someoneElse || reply.error.message.includes("接替"))
    ? { window, post, holder: someoneElse ? `${holder.name}（${holder.post}岗）` : "其他工作人员" }
    : null;
  renderChooser();
  if (app.takeover) $("takeover-button").focus();
  return reply;
}

function offerTakeover() {
  const { window, post, holder } = app.takeover;
  confirmThen({
    title: `接替 ${window} 号窗口`,
    text: `${window} 号窗口现由${holder}在岗。接替后对方将被签退，由您以${POST_NAMES[post]}在该窗口办理。确定接替吗？`,
    ok: "确定接替",
    run: () => signIn(window, post, true),
  });
}

const ACTIONS = {
  async call_next() {
    const reply = await send("call_next");
    if (!reply) return;
    if (!reply.ok) return say(reply.error.message, "error");
    if (!reply.ticket) return say("本窗口的业务暂时没有等候的号", "info");
    patchClerk({ current: reply.ticket });
    say(`已呼叫 ${reply.ticket.number} 号`, "ok");
  },
  async recall() {
    const reply = await send("recall");
    if (!reply) return;
    if (!reply.ok) return say(reply.error.message, "error");
    patchClerk({ current: reply.ticket });
    say(`已重呼 ${reply.ticket.number} 号（第 ${reply.ticket.recalls} 次）`, "ok");
  },
  no_show() {
    const number = app.clerk.current.number;
    confirmThen({
      title: `${number} 号过号`,
      text: `确定 ${number} 号过号吗？过号后该号作废，办事群众需要重新取号。`,
      ok: "确定过号",
      ticket: number,
      run: () => ticketOp("no_show", {}, `${number} 号已过号`),
    });
  },
  transfer() { openTransfer(); },
  hold() {
    openReasonDialog($("hold-dialog"), "挂起原因", (reason) =>
      ticketOp("hold", { reason }, `${app.clerk.current.number} 号已挂起，可在右侧“挂起的号”中叫回`));
  },
  finish() { finishBatch(); },
  pause() {
    openReasonDialog($("pause-dialog"), "暂停原因", async (reason) => {
      const reply = await send("pause", { reason });
      if (reply && reply.ok) {
        patchClerk({ status: "paused", status_text: WINDOW_STATUS_NAMES.paused, reason });
        say(`窗口已暂停服务：${reason}`, "ok");
      }
      return reply;
    });
  },
  async resume() {
    const reply = await send("resume");
    if (!reply) return;
    if (!reply.ok) return say(reply.error.message, "error");
    patchClerk({ status: "open", status_text: WINDOW_STATUS_NAMES.open, reason: null });
    say("窗口已恢复服务", "ok");
  },
  sign_out() {
    const number = app.clerk.window;
    confirmThen({
      title: "签退",
      text: `确定在 ${number} 号窗口签退吗？签退后本窗口不再叫号。`,
      ok: "确定签退",
      run: async () => {
        app.signingOut = true;
        const reply = await send("sign_out");
        if (reply && reply.ok) say(`已在 ${number} 号窗口签退`, "ok");
        else app.signingOut = false;
        return reply;
      },
    });
  },
};

// An op on the ticket in hand that ends it here (过号, 挂起, 转移, 办结).
async function ticketOp(op, params, done) {
  const ticket = app.clerk.current;
  const reply = await send(op, params);
  if (reply && reply.ok) {
    // The server's `clerk` event may have come before the reply: then this changes nothing.
    const changes = {};
    if (app.clerk.current && app.clerk.current.number === ticket.number) changes.current = null;
    if (op === "hold" && !app.clerk.held.some((t) => t.number === ticket.number)) {
      changes.held = [...app.clerk.held, { ...ticket, hold_reason: params.reason }];
    }
    patchClerk(changes);
    say(done, "ok");
  }
  return reply;
}

async function resumeHeld(number) {
  const reply = await send("resume_held", { number });
  if (!reply) return;
  if (!reply.ok) return say(reply.error.message, "error");
  patchClerk({ current: reply.ticket, held: app.clerk.held.filter((t) => t.number !== number) });
  say(`已叫回 ${number} 号`, "ok");
}

function stillBusy() {
  say(STILL_BUSY, "info");
  return null;
}

function runAction(op) {
  if (app.screen !== "main") return;
  if (app.busy) return stillBusy();
  const reason = unavailable()[op];
  if (reason) {
    say(`现在不能“${ACTION_NAMES[op]}”：${reason}`, "error");
    return;
  }
  ACTIONS[op]();
}

// --- dialogs -----------------------------------------------------------------------------------
// Each dialog is a <form method="dialog">: Enter submits it, Esc closes it. `submit` returns a
// reply (closes on ok, shows the refusal inside on error) or a string (a check that failed).

function openDialog(dialog, { title, ticket, submit, focus }) {
  if (title) dialog.querySelector("h2").textContent = title;
  dialog.querySelector(".form-error").textContent = "";
  dialog.dataset.ticket = ticket || "";
  dialog.submitAction = submit;
  dialog.showModal();
  if (focus) focus.focus();
}

function closeDialogs() {
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
}

function closeStaleDialogs() {
  const current = app.clerk && app.clerk.current ? app.clerk.current.number : "";
  for (const dialog of document.querySelectorAll("dialog[open]")) {
    if (dialog.dataset.ticket && dialog.dataset.ticket !== current) dialog.close();
  }
}

function setUpDialog(dialog) {
  const form = dialog.querySelector("form");
  const error = dialog.querySelector(".form-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!dialog.submitAction) return;
    if (app.busy) {
      error.textContent = STILL_BUSY;
      return;
    }
    error.textContent = "";
    const result = await dialog.submitAction(new FormData(form));
    if (typeof result === "string") {
      error.textContent = result;
    } else if (result && !result.ok) {
      error.textContent = result.error.message;
    } else if (result) {
      dialog.close();
    }
  });
  dialog.querySelector("button[value=cancel]").addEventListener("click", () => dialog.close());
  // Enter on a radio button or a list submits too (a text field does so by itself).
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.isComposing
        && event.target.matches("input[type=radio], select")) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  dialog.addEventListener("close", () => { dialog.submitAction = null; });
}

function confirmThen({ title, text, ok, ticket, run }) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  $("confirm-ok").querySelector("span").textContent = ok;
  openDialog(dialog, { title, ticket, submit: run, focus: $("confirm-ok") });
}

function openFinish() {
  const number = app.clerk.current.number;
  const form = $("finish-form");
  form.reset();
  const first = form.querySelector("input[name=outcome]");
  first.checked = true;
  openDialog($("finish-dialog"), {
    title: `办结 ${number} 号`, ticket: number, focus: first,
    submit: (data) => ticketOp("finish", { outcome: data.get("outcome"), note: data.get("note").trim() },
                               `${number} 号已办结，已请办事群众评价`),
  });
}

function openTransfer() {
  const c = app.clerk;
  const number = c.current.number;
  const form = $("transfer-form");
  form.reset();
  const categories = $("to-category");
  categories.textContent = "";
  for (const category of app.hall.categories) {
    categories.append(element("option", { value: category.prefix,
                                          textContent: `${category.prefix} 类 · ${category.name}` }));
  }
  const other = app.hall.categories.find((category) => category.prefix !== c.current.category);
  categories.value = other ? other.prefix : c.current.category;
  const windows = $("to-window");
  windows.textContent = "";
  for (const w of app.hall.windows) {
    if (w.window === c.window) continue;
    const live = app.windows.get(w.window);
    const staffed = live && live.clerk ? "" : "（无人在岗）";
    windows.append(element("option", { value: String(w.window),
                                       textContent: `${w.window} 号窗口 · ${w.name}${staffed}` }));
  }
  openDialog($("transfer-dialog"), {
    title: `转移 ${number} 号`, ticket: number, focus: categories,
    submit: (data) => {
      const note = data.get("note").trim();
      if (data.get("to") === "window") {
        if (!data.get("window")) return "请选择要转到的窗口";
        const to = Number(data.get("window"));
        return ticketOp("transfer", { to_window: to, note }, `${number} 号已转到 ${to} 号窗口`);
      }
      const to = data.get("category");
      return ticketOp("transfer", { to_category: to, note },
                      `${number} 号已转到 ${to} 类（${categoryName(to)}）排队`);
    },
  });
}

// A reason from a few common ones, with words of one's own (required for 其他).
function openReasonDialog(dialog, what, run) {
  const form = dialog.querySelector("form");
  form.reset();
  const number = dialog.id === "hold-dialog" ? app.clerk.current.number : "";
  openDialog(dialog, {
    title: number ? `挂起 ${number} 号` : null, ticket: number,
    focus: form.querySelector("input[name=reason]"),
    submit: (data) => {
      const choice = data.get("reason");
      const text = data.get("text").trim();
      if (!choice && !text) return `请选择或填写${what}`;
      if (choice === "其他" && !text) return `选择“其他”时请填写${what}`;
      const reason = !choice || choice === "其他" ? text : text ? `${choice}：${text}` : choice;
      return run(reason);
    },
  });
}

// The finish outcomes are the server's (snapshot.hall.outcomes), in its order.
function buildOutcomes(outcomes) {
  $("finish-outcomes").replaceChildren(...outcomes.map(({ code, name }) => element(
    "label", { class: "choice" },
    element("input", { type: "radio", name: "outcome", value: code }),
    element("span", { textContent: name }))));
}

function buildChoices() {
  for (const box of document.querySelectorAll("[data-reasons]")) {
    for (const reason of box.dataset.reasons.split(" ")) {
      box.append(element("label", { class: "choice" },
        element("input", { type: "radio", name: "reason", value: reason }),
        element("span", { textContent: reason })));
    }
  }
}

// --- wiring ------------------------------------------------------------------------------------

function onKey(event) {
  if (event.ctrlKey || event.altKey || event.metaKey || event.repeat || event.isComposing) return;
  if (app.screen !== "main" || document.querySelector("dialog[open]")) return;
  if (inbox.shown) return;   // the keys call at the window: not over the 代办件
  const target = event.target;
  if (target instanceof Element && target.closest("input, select, textarea, [contenteditable]")) return;
  const digit = /^(?:Digit|Numpad)([1-9])$/.exec(event.code);
  const key = digit ? digit[1] : /^[1-9]$/.test(event.key) ? event.key : null;
  if (!key) return;
  const button = document.querySelector(`.actions [aria-keyshortcuts="${key}"]`);
  if (!button) return;
  event.preventDefault();
  runAction(button.dataset.action);
}

function start() {
  buildChoices();
  startInbox();
  for (const dialog of document.querySelectorAll("dialog")) setUpDialog(dialog);
  for (const select of ["to-category", "to-window"]) {
    $(select).addEventListener("change", () => { $(`${select}-choice`).checked = true; });
    $(select).addEventListener("focus", () => { $(`${select}-choice`).checked = true; });
  }
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const badge = $("badge").value.trim();
    const pin = $("pin").value;
    if (!badge || !pin) {
      $("login-error").textContent = !badge ? "请输入工号" : "请输入密码";
      (!badge ? $("badge") : $("pin")).focus();
      return;
    }
    $("login-error").textContent = "";
    logIn(badge, pin);
  });
  $("logout-button").addEventListener("click", () => logOut("已退出登录"));
  $("takeover-button").addEventListener("click", offerTakeover);
  $("batch-receive-all").addEventListener("click", () => receiveCases(
    app.batch.cases.filter((c) => c.stage === "recorded").map((c) => c.case)));
  for (const button of document.querySelectorAll(".actions [data-action]")) {
    button.addEventListener("click", () => runAction(button.dataset.action));
  }
  document.addEventListener("keydown", onKey);
  $("call-number-form").addEventListener("submit", (event) => {
    event.preventDefault();
    callNumber();
  });
  setInterval(() => { tickClock(); tickTimes(); }, 1000);
  showScreen("login");
  $("badge").focus();
  render();
}

start();
