// The clerk console's 代办件 (docs/clerk-console.md): the cases the hall's village points
// forwarded whose item is of a category this window serves (op `point_inbox`), open ones first,
// and the town's answers on each (op `point_answer`): 接收材料, 受理, 要求补正, 办结, the ones its
// stage allows as the server says (`actions`, from the written rules). The list is asked anew
// when the console signs in at a window, when the server says a point's cases changed (event
// `point_cases`, sent to the windows serving the cases' items: entries arrived by the sync, or a
// clerk answered), and after each answer.
// Loaded before clerk.js, whose `app`, `send`, `say` and `openDialog` it uses once running.
"use strict";

const { POINT_STAGE_NAMES, POINT_RESULT_NAMES, POINT_DUE_NAMES, POINT_TOWN_ACTION_NAMES } =
  VOCABULARY;

const inbox = {
  shown: false,     // the 代办件 screen is over the console
  window: null,     // the window the list is of
  cases: [],        // the point_inbox reply's cases
  asking: false,    // a point_inbox request is under way
  again: false,     // … and another one is wanted after it
};

const dayOf = (iso) => `${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日`;

async function refreshInbox() {
  if (!app.socket || !app.clerk || !app.clerk.window) return;
  if (inbox.asking) {
    inbox.again = true;
    return;
  }
  inbox.asking = true;
  try {
    const reply = await app.socket.request("point_inbox");
    if (reply.ok) {
      inbox.window = reply.window;
      inbox.cases = reply.cases;
    }
  } catch (error) {
    // offline: the list is asked anew at the next hello
  } finally {
    inbox.asking = false;
  }
  renderInbox();
  if (inbox.again) {
    inbox.again = false;
    refreshInbox();
  }
}

// The console's hook: called on each render; asks for the list when the window changed.
function noteInboxWindow() {
  const window = app.clerk && app.clerk.window ? app.clerk.window : null;
  if (window !== inbox.window) {
    inbox.window = window;
    inbox.cases = [];
    if (window) refreshInbox();
    else showInbox(false);
  }
  renderInbox();
}

function showInbox(shown) {
  inbox.shown = shown && app.screen === "main";
  document.body.dataset.inbox = inbox.shown ? "open" : "";
  $("inbox-toggle").setAttribute("aria-expanded", String(inbox.shown));
  renderInbox();
}

function renderInbox() {
  const open = inbox.cases.filter((c) => c.open).length;
  const toggle = $("inbox-toggle");
  toggle.hidden = app.screen !== "main";
  toggle.textContent = `代办件 ${open}`;
  toggle.dataset.waiting = open ? "yes" : "";
  if (!inbox.shown) return;
  const w = app.clerk && app.clerk.window;
  $("inbox-what").textContent = w
    ? `${w} 号窗口所办事项的代办件：待办 ${open} 件（代办点送来、尚未办结的在前）` : "";
  const list = $("pcases");
  list.replaceChildren(...inbox.cases.map(caseItem));
  if (!inbox.cases.length) {
    list.append(element("li", { class: "none", textContent: "暂无代办点送来的本窗口事项" }));
  }
}

function stageText(c) {
  if (c.result) return `${POINT_STAGE_NAMES[c.stage]}：${POINT_RESULT_NAMES[c.result]}`;
  if (c.stage === "recorded") return `代办点${POINT_STAGE_NAMES.recorded}（材料未送达）`;
  return POINT_STAGE_NAMES[c.stage];
}

function dueText(c) {
  if (c.due) {
    const sign = c.due === "red" ? "⚠" : "！";
    return `${sign} ${POINT_DUE_NAMES[c.due]}（应于${dayOf(c.due_day)}前送达）`;
  }
  if (c.stage === "recorded") return `应于${dayOf(c.due_day)}前送达`;
  if (c.on_time === false) return "送达超期";
  return "";
}

function caseItem(c) {
  const ask = c.asks.find((a) => !a.answered_at);
  const acts = c.actions.map((kind) => element("button", {
    type: "button", class: kind === "town_finished" ? "finish" : "",
    textContent: POINT_TOWN_ACTION_NAMES[kind], onclick: () => answerCase(c, kind) }));
  return element("li", { class: "pcase", dataset: { due: c.due || "", open: c.open ? "yes" : "",
                                                    case: c.case } },
    element("div", { class: "pcase-head" },
      element("strong", { class: "pcase-number", textContent: c.case }),
      element("span", { class: "pcase-point", textContent: c.point_name }),
      element("span", { class: "pcase-stage", textContent: stageText(c) }),
      element("span", { class: "pcase-due", textContent: dueText(c) })),
    element("div", { class: "pcase-about" },
      element("span", { textContent: `群众：${c.name}　${c.phone}` }),
      element("span", { textContent: `事项：${c.item_name}` }),
      element("span", { textContent: `代办员：${c.agent}` })),
    element("div", { class: "pcase-materials",
                     textContent: `收到材料：${c.materials.join("、") || "（无）"}` }),
    c.note ? element("div", { class: "pcase-note", textContent: `备注：${c.note}` }) : null,
    ask ? element("div", { class: "pcase-ask",
                           textContent: `补正中（${dayOf(ask.at)}要求）：${ask.what}` }) : null,
    c.result_note ? element("div", { class: "pcase-note",
                                     textContent: `办结说明：${c.result_note}` }) : null,
    ...c.conflicts.map((x) => element("div", { class: "pcase-conflict", textContent: `✖ ${x.text}` })),
    acts.length ? element("div", { class: "pcase-acts" }, ...acts) : null);
}

async function answer(c, kind, params = {}) {
  const reply = await send("point_answer", { point: c.point, case: c.case, kind, ...params });
  if (!reply) return null;
  if (reply.ok) say(`${c.case}：已${POINT_TOWN_ACTION_NAMES[kind]}`, "ok");
  refreshInbox();   // a refusal too: the case has moved on meanwhile
  return reply;
}

function answerCase(c, kind) {
  if (kind === "town_received" || kind === "town_accepted") {
    answer(c, kind).then((reply) => {
      if (reply && !reply.ok) say(reply.error.message, "error");
    });
    return;
  }
  const asking = kind === "town_asked";
  const dialog = $("point-dialog");
  $("point-form").reset();
  $("point-dialog-case").textContent = `${c.case}　${c.item_name}　${c.point_name}`;
  $("point-what-row").hidden = !asking;
  $("point-result-row").hidden = asking;
  $("point-dialog-ok").querySelector("span").textContent = asking ? "确定要求补正" : "确定办结";
  openDialog(dialog, {
    title: `${POINT_TOWN_ACTION_NAMES[kind]} ${c.case}`,
    focus: asking ? $("point-what") : $("point-results").querySelector("input"),
    submit: async (form) => {
      if (asking) {
        const what = String(form.get("what") || "").trim();
        if (!what) return "请填写需要补交的材料";
        return answer(c, kind, { what });
      }
      const result = form.get("result");
      if (!result) return "请选择办理结果";
      return answer(c, kind, { result, note: String(form.get("note") || "").trim() });
    },
  });
}

function startInbox() {
  $("point-results").replaceChildren(...Object.entries(POINT_RESULT_NAMES).map(
    ([code, name]) => element("label", { class: "choice" },
      element("input", { type: "radio", name: "result", value: code }),
      element("span", { textContent: name }))));
  $("inbox-toggle").addEventListener("click", () => showInbox(!inbox.shown));
  $("inbox-back").addEventListener("click", () => showInbox(false));
}
