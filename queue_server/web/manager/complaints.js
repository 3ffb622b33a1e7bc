// The 投诉建议 register of the manager's dashboard (its own tab, #complaints): a form for a phone
// call or a 12345 transfer typed in by a manager, and the work list (worklist.js) of every
// complaint not closed yet, with its acts: 承办 (take it on, or over), 答复 (the text the citizen
// reads on the status page, and whether it was found valid), 回访 and 办结. A complainant's name
// and phone are never in the list's views: each is asked for (`complaint_contact`) and shown
// whole to the manager handling it, masked to any other. Under them, the register open and
// closed (`find_complaints`): a month's, of a status, or by number, as a table of its sheet's
// columns the server chooses, and the month's sheet as Excel (the 台账's, by reports.js).
"use strict";

(() => {
  const { COMPLAINT_ACTION_NAMES, COMPLAINT_CHANNEL_NAMES, COMPLAINT_KIND_NAMES,
          COMPLAINT_STATUS_NAMES, COMPLAINT_VERDICT_NAMES: VERDICT, CONTACT_PURGED,
          FOLLOW_UP_NAMES } = VOCABULARY;
  const ACTS = {
    assign: { op: "assign_complaint", fixed: {}, fields: [] },
    reply: { op: "reply_complaint", fixed: {},
             fields: [["reply", "答复内容（群众在办理进度页面看到）"]],
             choice: ["valid", "核实结论", { true: `${VERDICT.valid}（属实）`,
                                               false: `${VERDICT.invalid}（不属实）` }],
             prepare: (p) => ({ ...p, valid: p.valid === "true" }) },
    follow_up: { op: "follow_up_complaint", fixed: {}, fields: [["note", "回访记录", true]],
                 choice: ["result", "回访结果", FOLLOW_UP_NAMES] },
    close: { op: "close_complaint", fixed: {}, fields: [["note", "办结说明", true]] },
  };
  const contacts = new Map();   // number → [handler it was asked under, the reply]
  let me = "";                  // this manager as the log signs its acts (hello's `signature`)

  function about(c) {
    const concerned = [c.window && `${c.window} 号窗口`, c.clerk_name, c.ticket && `${c.ticket} 号`]
      .filter(Boolean).join(" · ");
    const hotline = c.hotline_case ? `（热线工单 ${c.hotline_case}）` : "";
    return `${c.kind_name} · ${c.category} · ${c.channel_name}${hotline}${concerned ? ` · ${concerned}` : ""}：${c.text}`;
  }

  // The contact, asked again a moment later while its row is still being written (for at most
  // ten seconds: then it was not stored).
  async function ask(c, tries = 20) {
    let reply = await list.api().request("complaint_contact", { complaint: c.complaint });
    if (contacts.get(c.complaint)?.[0] !== c.handler) return;   // handled by another since
    if (reply.ok && reply.saving) {
      if (tries > 1) {
        setTimeout(() => ask(c, tries - 1), 500);
        return;
      }
      reply = { ok: false, error: { message: "未能保存" } };
    }
    contacts.set(c.complaint, [c.handler, reply]);
    list.render();
  }

  function contact(c) {
    if (!c.contact) return null;
    const known = contacts.get(c.complaint);
    if (!known || known[0] !== c.handler) {   // asked again once another manager handles it
      contacts.set(c.complaint, [c.handler, null]);
      ask(c);
    }
    const reply = contacts.get(c.complaint)[1];
    let text = "联系方式：正在读取…";
    if (reply && !reply.ok) text = `联系方式：${reply.error.message}`;
    else if (reply && reply.purged) text = `联系方式：${CONTACT_PURGED}`;
    else if (reply) {
      text = `联系人：${reply.name || "未留姓名"} ${reply.phone || "未留电话"}${reply.masked ? "（承办人可见完整信息）" : ""}`;
    }
    return element("p", { class: "case-contact", textContent: text });
  }

  function history(c) {
    const lines = [];
    if (c.registered_by) lines.push(`登记：${actBy({ by: c.registered_by, at: c.registered_at })}`);
    if (c.handler) lines.push(`承办人：${c.handler}`);
    if (c.reply) lines.push(`答复（${VERDICT[c.reply.valid ? "valid" : "invalid"]}）：${c.reply.reply}（${actBy(c.reply)}）`);
    return [...lines, ...followUpLines(c.follow_ups)];
  }

  const list = workList({
    key: "complaint", event: "complaint", snapshot: "complaints", list: "complaints",
    summary: "complaints-summary", empty: "没有待办的投诉建议", actionNames: COMPLAINT_ACTION_NAMES,
    acts: ACTS, history, about, extra: contact,
    keep: (c) => c.status !== "closed",
    title: (c) => c.complaint,
    // the handler's acts to the handler only; to any other manager, taking it on (or over)
    actions: (c) => c.actions.filter((a) => (a === "assign") !== (c.handler === me)),
    statusText: (c) => (c.awaits_follow_up ? `${c.status_text}，待回访` : c.status_text),
    rendered: ({ all, red }) => {   // the tab says what waits, and what is overdue
      document.getElementById("tab-complaints").textContent =
        `投诉建议${all ? `（${all}）` : ""}${red ? ` ▲${red}` : ""}`;
    },
  });

  // --- a phone call or a 12345 transfer -------------------------------------------------------

  function registerForm(hall) {
    const form = document.getElementById("complaint-register");
    const choose = (select, options) => {
      select.textContent = "";
      for (const [value, textContent] of options) select.append(element("option", { value, textContent }));
    };
    choose(form.elements.channel, ["phone", "hotline"].map((c) => [c, COMPLAINT_CHANNEL_NAMES[c]]));
    choose(form.elements.kind, Object.entries(COMPLAINT_KIND_NAMES));
    choose(form.elements.category, hall.complaint_categories.map((c) => [c, c]));
    choose(form.elements.window, [["", "不涉及具体窗口"],
      ...hall.windows.map((w) => [String(w.window), `${w.window} 号窗口（${w.name}）`])]);
    form.elements.name.closest("label").hidden = !hall.complaint_keep_contact;
    form.elements.phone.closest("label").hidden = !hall.complaint_keep_contact;
    const hotline = () => {
      form.elements.hotline_case.closest("label").hidden = form.elements.channel.value !== "hotline";
    };
    form.elements.channel.onchange = hotline;
    hotline();
  }

  async function register(event) {
    event.preventDefault();
    const form = event.target;
    const f = form.elements;
    const said = document.getElementById("complaint-register-result");
    said.className = "case-error";
    if (!f.text.value.trim()) {
      said.textContent = "请填写投诉建议内容";
      return;
    }
    const params = { channel: f.channel.value, kind: f.kind.value, category: f.category.value,
                     text: f.text.value.trim(), window: f.window.value ? Number(f.window.value) : null };
    if (f.channel.value === "hotline") params.hotline_case = f.hotline_case.value.trim();
    if (!f.name.closest("label").hidden) {
      params.name = f.name.value.trim();
      params.phone = f.phone.value.trim();
    }
    const reply = await list.api().request("register_complaint", params);
    if (!reply.ok) {
      said.textContent = reply.error.message;
      return;
    }
    said.className = "complaint-registered";
    said.textContent = `已登记 ${reply.complaint}，查询码 ${reply.code}（请告知群众，凭此在办理进度页面查询），办理期限 ${dateText(reply.deadline)}`;
    for (const name of ["text", "hotline_case", "name", "phone"]) f[name].value = "";
  }

  // --- the register, open and closed: a month's, of a status, or by number ------------------

  const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;   // a moment as the server writes it
  const LONG = 16;   // characters: a cell longer wraps

  async function find(event) {
    event?.preventDefault();
    const f = document.getElementById("complaint-find").elements;
    const params = {};
    if (f.number.value.trim()) params.number = f.number.value.trim();
    else if (f.month.value) params.month = f.month.value;
    if (f.status.value) params.status = f.status.value;
    const reply = await list.api().request("find_complaints", params);
    const summary = document.getElementById("complaint-found-summary");
    const table = document.getElementById("complaint-found");
    table.textContent = "";
    if (!reply.ok) {
      summary.textContent = `无法查询：${reply.error.message}`;
      return;
    }
    if (reply.month && f.month.value !== reply.month) f.month.value = reply.month;
    const where = reply.month ? `${reply.month.replace("-", "年")}月` : `编号含“${params.number}”`;
    const status = params.status ? `${COMPLAINT_STATUS_NAMES[params.status]}的` : "";
    summary.textContent = `${where}${status}投诉建议 ${reply.rows.length} 条`;
    table.append(element("thead", {}, element("tr", {}, ...reply.headers.map(
      (textContent) => element("th", { scope: "col", textContent })))));
    const body = element("tbody");
    for (const row of reply.rows) {
      body.append(element("tr", {}, ...row.map((value) => {
        const textContent = value === null ? "" : TIME.test(value) ? value.slice(0, 16) : String(value);
        // a short value (a number, a date, a status) on one line; a text wraps
        return element("td", { textContent, class: textContent.length > LONG ? "long" : null });
      })));
    }
    if (!reply.rows.length) {
      body.append(element("tr", {}, element("td", { colSpan: reply.headers.length, class: "none",
                                                   textContent: "没有找到投诉建议" })));
    }
    table.append(body);
  }

  function findForm() {
    const form = document.getElementById("complaint-find");
    form.elements.status.append(element("option", { value: "", textContent: "全部状态" }),
      ...Object.entries(COMPLAINT_STATUS_NAMES).map(([value, textContent]) => element("option", { value, textContent })));
    form.addEventListener("submit", find);
    form.elements.month.addEventListener("change", () => { form.elements.number.value = ""; });
  }

  function attach(dashboard) {
    dashboard.onHello((reply) => {   // before the list's own: its render asks the contacts anew
      contacts.clear();
      me = reply.signature;
      registerForm(reply.snapshot.hall);
      find();
    });
    list.attach(dashboard);
    document.getElementById("complaint-register").addEventListener("submit", register);
    findForm();
  }

  window.Complaints = { attach };
})();
