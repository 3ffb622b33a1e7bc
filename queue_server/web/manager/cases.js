// The 差评工单 panel of the manager's dashboard: every 差评 case still open or awaiting its 回访,
// past its deadline first (red), then near it (yellow), then by deadline; and the acts on it:
// the handling (立行立改 / 限期整改 / 解释说明, with what was found and the text published),
// 整改完成, the 回访 call, an appeal and its decision, or its withdrawal by the manager who made
// it (who may not decide it: the page hides that and says so). The server says what each case allows now
// (`actions`, from its table) and whether it is due (`due`); the page only asks for the words
// an act needs. It shares the dashboard's login and connection: manager.js hands it `request`,
// the hello replies and the events through Cases.attach.
"use strict";

(() => {
  const { CASE_ACTION_NAMES, CASE_DUE_NAMES, CASE_STATUS_NAMES, FOLLOW_UP_NAMES,
          WARNING_LEVEL_NAMES } = VOCABULARY;
  const DUE = { red: `▲ ${CASE_DUE_NAMES.red}`, yellow: `● ${CASE_DUE_NAMES.yellow}` };
  // What each act asks for: [parameter, label, optional]; the op it is and its fixed parameters.
  const HANDLING = [["finding", "核实情况"], ["published", "公开答复（向群众公开的处理结果）"]];
  const ACTS = {
    at_once: { op: "handle_case", fixed: { measure: "at_once" }, fields: HANDLING },
    deadline: { op: "handle_case", fixed: { measure: "deadline" }, fields: HANDLING },
    explain: { op: "handle_case", fixed: { measure: "explain" }, fields: HANDLING },
    rectify: { op: "rectify_case", fixed: {}, fields: [["note", "整改情况"]] },
    follow_up: { op: "follow_up_case", fixed: {}, fields: [["note", "回访记录", true]], results: true },
    appeal: { op: "appeal_case", fixed: {}, fields: [["reason", "申诉理由"]] },
    uphold: { op: "decide_appeal", fixed: { uphold: true }, fields: [["reason", "审核意见"]] },
    reject: { op: "decide_appeal", fixed: { uphold: false }, fields: [["reason", "审核意见"]] },
    withdraw: { op: "withdraw_appeal", fixed: {}, fields: [] },
  };
  const DECISIONS = ["uphold", "reject"];

  let api = null;
  let account = null;          // ours, as the hello reply says it: a case's appeal may be ours
  const cases = new Map();     // case number → its view (snapshot.cases, then `case` events)
  const open = { form: null }; // {case, action, values} of the act being filled in: kept when
                               // an event redraws the list
  const errors = new Map();    // case number → the server's refusal of our last act

  const dateText = (iso) => `${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日`;
  const order = { red: 0, yellow: 1 };

  function sorted() {
    return [...cases.values()].sort((a, b) => ((order[a.due] ?? 2) - (order[b.due] ?? 2))
      || a.deadline.localeCompare(b.deadline) || a.case.localeCompare(b.case));
  }

  function history(c) {
    const lines = [];
    const who = (act) => `${act.by} ${act.at.slice(5, 16).replace("T", " ")}`;
    for (const w of c.withdrawn) lines.push(`${CASE_ACTION_NAMES.withdraw}：${w.reason}（${who(w)}）`);
    if (c.appeal) lines.push(`申诉：${c.appeal.reason}（${who(c.appeal)}）`);
    if (c.decision) lines.push(`${CASE_STATUS_NAMES[c.decision.upheld ? "upheld" : "rejected"]}：${c.decision.reason}（${who(c.decision)}）`);
    if (c.handling) {
      lines.push(`${CASE_ACTION_NAMES[c.handling.measure]}：${c.handling.finding}；公开答复：${c.handling.published}（${who(c.handling)}）`);
    }
    if (c.rectified) lines.push(`${CASE_ACTION_NAMES.rectify}：${c.rectified.note}（${who(c.rectified)}）`);
    for (const f of c.follow_ups) {
      lines.push(`第 ${f.attempt} 次回访：${FOLLOW_UP_NAMES[f.result]}${f.note ? `，${f.note}` : ""}（${who(f)}）`);
    }
    return lines;
  }

  function form(c, action) {
    const act = ACTS[action];
    const node = element("form", { class: "case-form", novalidate: true },
      element("p", { class: "case-form-title", textContent: `${c.case} ${c.ticket} 号：${CASE_ACTION_NAMES[action]}` }));
    if (act.results) {
      const select = element("select", { name: "result" });
      for (const [value, textContent] of Object.entries(FOLLOW_UP_NAMES)) {
        select.append(element("option", { value, textContent }));
      }
      select.value = open.form.values.result || select.value;
      select.addEventListener("change", () => { open.form.values.result = select.value; });
      node.append(element("label", {}, "回访结果", select));
    }
    for (const [name, label, optional] of act.fields) {
      const area = element("textarea", { name, rows: 2, maxLength: 500, required: !optional,
                                         value: open.form.values[name] || "" });
      area.addEventListener("input", () => { open.form.values[name] = area.value; });
      node.append(element("label", {}, optional ? `${label}（可不填）` : label, area));
    }
    const submit = element("button", { type: "submit", class: "small primary",
                                       textContent: `确定${CASE_ACTION_NAMES[action]}` });
    const cancel = element("button", { type: "button", class: "small plain", textContent: "取消" });
    cancel.addEventListener("click", () => { open.form = null; render(); });
    node.append(element("div", { class: "case-acts" }, submit, cancel));
    node.addEventListener("submit", (event) => {
      event.preventDefault();
      const params = { case: c.case, ...act.fixed };
      for (const field of node.elements) {
        if (field.name) params[field.name] = field.value.trim();
      }
      const missing = act.fields.find(([name, , optional]) => !optional && !params[name]);
      if (missing) {
        errors.set(c.case, `请填写${missing[1]}`);
        render();
        return;
      }
      perform(c.case, act.op, params);
    });
    return node;
  }

  async function perform(number, op, params) {
    errors.delete(number);
    const reply = await api.request(op, params);
    if (reply.ok) open.form = null;
    else errors.set(number, reply.error.message);
    render();
  }

  function item(c) {
    const node = element("li", { class: "case", dataset: { case: c.case, due: c.due || "" } });
    node.append(element("div", { class: "case-head" },
      element("span", { class: "case-number", textContent: c.case }),
      element("span", { class: "case-status", textContent: c.awaits_follow_up ? `${c.status_text}，待回访` : c.status_text }),
      c.due && element("span", { class: "case-due", textContent: DUE[c.due],
                                 title: WARNING_LEVEL_NAMES[c.due] }),
      element("span", { class: "case-deadline", textContent: `期限 ${dateText(c.deadline)}` })));
    const reasons = c.reasons.length ? `：${c.reasons.join("、")}` : "";
    node.append(element("p", { class: "case-about", textContent:
      `${c.window} 号窗口 · ${c.clerk_name}（${c.department_name}）· ${c.ticket} 号 · ${dateText(c.day)}评价“${c.score_name}”${reasons}` }));
    const lines = history(c);
    if (lines.length) {
      node.append(element("ul", { class: "case-history" },
        ...lines.map((textContent) => element("li", { textContent }))));
    }
    // An appeal I made is decided by another manager (the server refuses me too), and only I
    // may withdraw it; a clerk's appeal is theirs to withdraw. An appeal of a log older than
    // accounts (`account` null) keeps every act, and the server judges.
    const manager = c.appeal && c.appeal.clerk === null;
    const mine = manager && c.appeal.account === account;
    const actions = c.actions.filter((a) => (a === "withdraw"
      ? manager && (mine || c.appeal.account === null) : !(mine && DECISIONS.includes(a))));
    if (mine && c.status === "appealing") {
      node.append(element("p", { class: "case-note", textContent: "申诉由您提出，须由另一名管理人员审核" }));
    }
    const editing = open.form && open.form.case === c.case ? open.form.action : null;
    if (editing) {
      node.append(form(c, editing));
    } else if (actions.length) {
      const acts = element("div", { class: "case-acts" });
      for (const action of actions) {
        const button = element("button", { type: "button", class: "small plain",
                                           textContent: CASE_ACTION_NAMES[action],
                                           disabled: !api.online() });
        button.addEventListener("click", () => {
          open.form = { case: c.case, action, values: {} };   // values: what is typed so far
          errors.delete(c.case);
          render();
          const field = document.querySelector(".case-form select, .case-form textarea");
          if (field) {
            field.closest(".case-form").scrollIntoView({ block: "nearest" });
            field.focus();
          }
        });
        acts.append(button);
      }
      node.append(acts);
    }
    if (errors.has(c.case)) {
      node.append(element("p", { class: "case-error", role: "alert", textContent: errors.get(c.case) }));
    }
    return node;
  }

  function render() {
    const list = document.getElementById("cases");
    if (!list) return;
    const focused = document.activeElement && list.contains(document.activeElement);
    list.textContent = "";
    const all = sorted();
    for (const c of all) list.append(item(c));
    if (!all.length) list.append(element("li", { class: "empty", textContent: "没有待办的差评工单" }));
    const red = all.filter((c) => c.due === "red").length;
    const yellow = all.filter((c) => c.due === "yellow").length;
    document.getElementById("cases-summary").textContent =
      `待办 ${all.length} 件${red ? `，已超期 ${red}` : ""}${yellow ? `，临近期限 ${yellow}` : ""}`;
    if (focused && open.form) {
      const first = list.querySelector(".case-form select, .case-form textarea");
      if (first) first.focus();
    }
  }

  function attach(dashboard) {
    api = dashboard;
    dashboard.onHello((reply) => {
      account = reply.account;
      cases.clear();
      errors.clear();
      for (const c of reply.snapshot.cases || []) cases.set(c.case, c);
      render();
    });
    dashboard.onEvent((event) => {
      if (event.ev !== "case") return;
      const { ev, seq, at, ...view } = event;
      if (view.pending) cases.set(view.case, view);
      else cases.delete(view.case);
      render();
    });
  }

  window.Cases = { attach };
})();
