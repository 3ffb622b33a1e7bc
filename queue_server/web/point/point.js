// The village point's page (/point, 代办台账) for the agent at the point's own PC: record a
// citizen's request, one line per case (一事一记), print the citizen's receipt, and follow each
// case through its stages with the actions its stage allows. It speaks to the point's own server
// (queue_server.points.point_server) as `point`; every refusal is shown in the server's words.
// The link to the town (the sync's state) is shown in the top bar.
"use strict";

const { POINT_STAGE_NAMES, POINT_RESULT_NAMES, POINT_DUE_NAMES, FOLLOW_UP_NAMES } = VOCABULARY;
const CLOSED = ["archived", "visited", "withdrawn"];
const AGENT = "point:agent";
const ACTION_NAMES = { supply: "补交材料", fed_back: "已反馈群众", archive: "归档", visit: "回访",
                       amend: "更正", withdraw: "撤回" };
const ITEMS_SHOWN = 6;
let items = [];
let chosen = null;          // the catalogue item chosen in the form
const cases = new Map();    // case number → its view
let filter = "open";
let today = "";

const socket = new HallSocket({ role: "point" }, {
  onHello: (reply) => {
    const p = reply.point;
    $("point-name").textContent = p.name;
    $("town").textContent = `代办至 ${p.town}`;
    document.title = `${p.name} 代办台账`;
    setToday(reply.today);
    setCatalogue(reply.catalogue);
    cases.clear();
    for (const c of reply.cases) cases.set(c.case, c);
    showLink(reply.link);
    showCases();
  },
  onEvent: (event) => {
    if (event.ev === "cases") {
      if (event.all) cases.clear();
      if (event.today) setToday(event.today);
      for (const c of event.cases) cases.set(c.case, c);
      showCases();
    } else if (event.ev === "link") {
      showLink(event.link);
    } else if (event.ev === "catalogue") {
      setCatalogue(event.catalogue);
    }
  },
  onStatus: (status) => {
    if (status !== "online") {
      const link = $("link");
      link.className = "link offline";
      link.textContent = status === "connecting" ? "正在连接本机服务…" : "本机服务未响应，正在重连…";
    }
  },
}, "/ws");

function dayText(iso) {
  const [, m, d] = iso.slice(0, 10).split("-").map(Number);
  return `${m}月${d}日`;
}

function setToday(day) {
  today = day;
  const weekday = "日一二三四五六"[new Date(`${day}T12:00:00`).getDay()];
  $("today").textContent = `${dayText(day)} 周${weekday}`;
}

// --- the link to the town --------------------------------------------------------------------

function showLink(link) {
  const node = $("link");
  const pending = `待上传 ${link.pending} 条`;
  if (link.connected) {
    node.className = "link online";
    const last = link.last_contact ? ` · 最近联系 ${link.last_contact.slice(11, 16)}` : "";
    node.textContent = `● 已连接乡镇${last} · ${pending}`;
  } else {
    node.className = "link offline";
    const last = link.last_contact ? `（最近联系 ${dayText(link.last_contact)} ${link.last_contact.slice(11, 16)}）` : "";
    node.textContent = `○ 未连接乡镇${last} · ${pending}`;
  }
  $("clock-warning").hidden = !link.clock_warning;
  $("clock-warning").textContent = link.clock_warning ? `⚠ ${link.clock_warning}` : "";
  $("restoring").hidden = !link.restoring;
  // ⟳ while the town gives the entries back; ⚠ once it refused: nothing is under way
  $("restoring").textContent = link.restoring ? `${link.refused ? "⚠" : "⟳"} ${link.restoring}` : "";
  $("link-error").hidden = !link.error;
  $("link-error").textContent = link.error ? `与乡镇同步：${link.error}` : "";
}

// --- the form: one case --------------------------------------------------------------------

function setCatalogue(catalogue) {
  items = catalogue.items;
  if (chosen) chosen = items.find((i) => i.code === chosen.code) || null;
  showItems();
}

// Whether the typed words' characters come in `name` in their order: 低保 finds 最低生活保障申请.
function abbreviates(words, name) {
  let at = 0;
  for (const char of words) {
    at = name.indexOf(char, at);
    if (at < 0) return false;
    at += char.length;
  }
  return true;
}

function showItems() {
  const words = $("item-search").value.replace(/\s/g, "");
  const found = items.filter((i) => abbreviates(words, i.name) || i.code === words.toUpperCase());
  // a few at a time, the chosen one always among them: the rest is found by typing
  const shown = found.slice(0, ITEMS_SHOWN);
  if (chosen && found.includes(chosen) && !shown.includes(chosen)) shown[ITEMS_SHOWN - 1] = chosen;
  $("items").replaceChildren(...shown.map((item) => element("button", {
    type: "button", class: `item${chosen && chosen.code === item.code ? " on" : ""}`,
    role: "radio", "aria-checked": String(Boolean(chosen && chosen.code === item.code)),
    dataset: { code: item.code }, onclick: () => choose(item),
  }, chosen && chosen.code === item.code ? `✓ ${item.name}` : item.name)));
  if (!found.length) $("items").append(element("p", { class: "muted" }, "没有找到这个事项"));
  if (found.length > shown.length) {
    $("items").append(element("p", { class: "muted more" },
      `还有 ${found.length - shown.length} 项，请输入事项名称查找（如“低保”）`));
  }
  showMaterials();
}

function choose(item) {
  chosen = item;
  showItems();
}

function checkboxes(names, ticked = []) {
  return names.map((name) => element("label", { class: "check" },
    element("input", { type: "checkbox", value: name, checked: ticked.includes(name) }), name));
}

function showMaterials() {
  $("materials-box").hidden = !chosen;
  $("materials").replaceChildren(...(chosen ? checkboxes(chosen.materials) : []));
}

function ticked(box) {
  return [...box.querySelectorAll("input[type=checkbox]:checked")].map((b) => b.value);
}

$("item-search").addEventListener("input", showItems);
$("agent").value = localStorage.getItem(AGENT) || "";

$("record-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("name").value.trim();
  const phone = $("phone").value.trim();
  const agent = $("agent").value.trim();
  const missing = [!name && "群众姓名", !phone && "联系电话", !chosen && "办理事项",
                   !agent && VOCABULARY.POINT_DIMENSION_NAMES.agent].filter(Boolean);
  if (missing.length) {
    $("form-error").textContent = `请填写：${missing.join("、")}`;
    return;
  }
  $("form-error").textContent = "";
  $("record").disabled = true;
  const reply = await socket.request("record", {
    name, phone, agent, item: chosen.code, materials: ticked($("materials")),
    note: $("note").value.trim() });
  $("record").disabled = false;
  if (!reply.ok) {
    $("form-error").textContent = reply.error.message;
    return;
  }
  localStorage.setItem(AGENT, agent);
  cases.set(reply.case.case, reply.case);
  showCases();
  $("record-form").hidden = true;
  $("recorded").hidden = false;
  $("recorded-number").textContent = reply.case.case;
  $("recorded-receipt").href = receiptUrl(reply.case.case);
});

$("next-case").addEventListener("click", () => {
  for (const id of ["name", "phone", "note", "item-search"]) $(id).value = "";
  chosen = null;
  showItems();
  $("recorded").hidden = true;
  $("record-form").hidden = false;
  $("name").focus();
});

const receiptUrl = (number) => `/point/receipt/${encodeURIComponent(number)}`;

// --- the ledger ------------------------------------------------------------------------------

// Those that need the agent first: past or near the hand-over deadline, a 补正 asked, a result
// to tell the citizen; then the newest.
function urgency(c) {
  if (c.due === "red") return 0;
  if (c.due === "yellow") return 1;
  if (c.ask) return 2;
  if (c.stage === "finished") return 3;
  return CLOSED.includes(c.stage) ? 5 : 4;
}

function showCases() {
  const words = $("find").value.trim();
  const all = [...cases.values()];
  const open = all.filter((c) => !CLOSED.includes(c.stage));
  const shown = (filter === "open" ? open : all)
    .filter((c) => !words || c.case.includes(words) || c.name.includes(words) || c.phone.includes(words))
    .sort((a, b) => urgency(a) - urgency(b) || b.case.localeCompare(a.case));
  const late = open.filter((c) => c.due === "red").length;
  const near = open.filter((c) => c.due === "yellow").length;
  $("counts").textContent = `在办 ${open.length} 件，共 ${all.length} 件` +
    (late ? `；${POINT_DUE_NAMES.red} ${late} 件` : "") + (near ? `；${POINT_DUE_NAMES.yellow} ${near} 件` : "");
  for (const button of document.querySelectorAll(".filter")) {
    button.classList.toggle("on", button.dataset.filter === filter);
    button.textContent = button.dataset.filter === "open" ? `在办（${open.length}）` : `全部（${all.length}）`;
  }
  $("cases").replaceChildren(...shown.map(caseLine));
  if (!shown.length) {
    $("cases").append(element("li", { class: "none" }, all.length ? "没有符合的件" : "还没有登记的件"));
  }
}

function stageText(c) {
  if (c.stage === "finished") return `${POINT_STAGE_NAMES.finished}：${POINT_RESULT_NAMES[c.result]}`;
  if (c.stage === "visited") return `${POINT_STAGE_NAMES.visited}：${FOLLOW_UP_NAMES[c.visit]}`;
  return POINT_STAGE_NAMES[c.stage];
}

// The town's result in words: 准予办理，<its note>.
function resultText(c) {
  return `${POINT_RESULT_NAMES[c.result]}${c.result_note ? `，${c.result_note}` : ""}`;
}

function caseLine(c) {
  const due = c.due ? element("span", { class: `due ${c.due}` },
    `${c.due === "red" ? "⚠" : "！"} ${POINT_DUE_NAMES[c.due]}（应于${dayText(c.due_day)}前送达乡镇）`) :
    (c.stage === "recorded" ? element("span", { class: "due-day" }, `${dayText(c.due_day)}前送达乡镇`) : null);
  const item = items.find((i) => i.code === c.item);
  const missing = item ? item.materials.filter((m) => !c.materials.includes(m)) : [];
  const materials = (c.materials.length ? c.materials.join("、") : "未收材料") +
    (missing.length && !CLOSED.includes(c.stage) ? `（未收：${missing.join("、")}）` : "");
  const actions = [element("a", { class: "button small", href: receiptUrl(c.case), target: "_blank" }, "回执"),
    ...c.actions.map((op) => element("button", {
      type: "button", class: `small${op === "withdraw" ? " danger" : ""}`, dataset: { op },
      onclick: () => openAction(op, c) }, ACTION_NAMES[op]))];
  return element("li", { class: `case${c.due ? ` ${c.due}` : ""}`, dataset: { case: c.case } },
    element("div", { class: "line" },
      element("strong", { class: "number" }, c.case),
      element("span", { class: `stage stage-${c.stage}` }, stageText(c)), due),
    element("div", { class: "line who" },
      element("span", { class: "citizen" }, `${c.name} ${c.phone}`),
      element("span", { class: "what" }, c.item_name),
      element("span", { class: "muted" }, `${dayText(c.recorded_at)}受理 · 材料：${materials}`)),
    c.note ? element("div", { class: "line muted" }, `备注：${c.note}`) : null,
    c.result ? element("div", { class: "line" }, `办理结果：${resultText(c)}`) : null,
    c.ask ? element("div", { class: "ask" }, `乡镇要求补正：${c.ask.what}`) : null,
    ...c.conflicts.map((text) => element("div", { class: "conflict" }, `✖ ${text}`)),
    element("div", { class: "actions" }, ...actions));
}

for (const button of document.querySelectorAll(".filter")) {
  button.addEventListener("click", () => { filter = button.dataset.filter; showCases(); });
}
$("find").addEventListener("input", showCases);

// --- an action on a case ---------------------------------------------------------------------

let acting = null;   // {op, case}

function field(label, input) {
  return element("label", { class: "field" }, label, input);
}

function openAction(op, c) {
  acting = { op, case: c.case };
  $("action-title").textContent = ACTION_NAMES[op];
  $("action-case").textContent = `${c.case} · ${c.name} · ${c.item_name}`;
  $("action-error").textContent = "";
  const fields = [];
  if (op === "withdraw") {
    fields.push(field("撤回原因", element("input", { id: "a-reason", maxlength: 200 })));
  } else if (op === "supply") {
    fields.push(element("p", { class: "ask" }, `乡镇要求：${c.ask.what}`),
      field("补交了哪些材料（每行一项）", element("textarea", { id: "a-materials", rows: 3 })),
      field("备注（可不填）", element("input", { id: "a-note", maxlength: 200 })));
  } else if (op === "fed_back") {
    fields.push(element("p", {}, `办理结果：${resultText(c)}`),
      field("告知情况（可不填）", element("input", { id: "a-note", maxlength: 200 })));
  } else if (op === "visit") {
    fields.push(element("div", { class: "checks", role: "radiogroup" },
      ...Object.entries(FOLLOW_UP_NAMES).map(([key, name]) => element("label", { class: "check" },
        element("input", { type: "radio", name: "a-result", value: key }), name))),
      field("回访记录（可不填）", element("input", { id: "a-note", maxlength: 200 })));
  } else if (op === "amend") {
    fields.push(field("群众姓名", element("input", { id: "a-name", value: c.name, maxlength: 40 })),
      field("联系电话", element("input", { id: "a-phone", value: c.phone, maxlength: 20 })));
    const item = items.find((i) => i.code === c.item);
    if (c.stage === "recorded" && item) {
      fields.push(element("fieldset", { id: "a-materials-box" },
        element("legend", {}, "收到的材料"), ...checkboxes(item.materials, c.materials)));
    }
    fields.push(field("备注", element("input", { id: "a-note", value: c.note, maxlength: 200 })));
  } else {
    fields.push(element("p", {}, "归档后本件不再出现在“在办”中。"));
  }
  $("action-fields").replaceChildren(...fields);
  $("action-dialog").showModal();
}

function actionParams(op, c) {
  const value = (id) => ($(id) ? $(id).value.trim() : "");
  if (op === "withdraw") {
    return value("a-reason") ? { reason: value("a-reason") } : "请填写撤回原因";
  }
  if (op === "supply") {
    const materials = value("a-materials").split("\n").map((m) => m.trim()).filter(Boolean);
    return materials.length ? { ask: c.ask.ask, materials, note: value("a-note") } : "请填写补交了哪些材料";
  }
  if (op === "fed_back") return { note: value("a-note") };
  if (op === "visit") {
    const result = document.querySelector("input[name=a-result]:checked");
    return result ? { result: result.value, note: value("a-note") } : "请选择回访结果";
  }
  if (op === "amend") {
    const params = {};
    if (value("a-name") !== c.name) params.name = value("a-name");
    if (value("a-phone") !== c.phone) params.phone = value("a-phone");
    if (value("a-note") !== c.note) params.note = value("a-note");
    const box = $("a-materials-box");
    if (box && ticked(box).join("\n") !== c.materials.join("\n")) params.materials = ticked(box);
    return Object.keys(params).length ? params : "没有要更正的内容";
  }
  return {};
}

$("action-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const c = cases.get(acting.case);
  const params = actionParams(acting.op, c);
  if (typeof params === "string") {
    $("action-error").textContent = params;
    return;
  }
  $("action-ok").disabled = true;
  const reply = await socket.request(acting.op, { case: acting.case, ...params });
  $("action-ok").disabled = false;
  if (!reply.ok) {
    $("action-error").textContent = reply.error.message;
    return;
  }
  cases.set(reply.case.case, reply.case);
  showCases();
  $("action-dialog").close();
});
$("action-cancel").addEventListener("click", () => $("action-dialog").close());
