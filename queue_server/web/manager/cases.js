// The 差评工单 panel of the manager's dashboard (a work list, worklist.js): every 差评 case still
// open or awaiting its 回访, and the acts on it: the handling (立行立改 / 限期整改 / 解释说明, with
// what was found and the text published), 整改完成, the 回访 call, an appeal and its decision,
// or its withdrawal by the manager who made it (who may not decide it: the page hides that and
// says so).
"use strict";

(() => {
  const { CASE_ACTION_NAMES, CASE_STATUS_NAMES, FOLLOW_UP_NAMES } = VOCABULARY;
  const HANDLING = [["finding", "核实情况"], ["published", "公开答复（向群众公开的处理结果）"]];
  const ACTS = {
    at_once: { op: "handle_case", fixed: { measure: "at_once" }, fields: HANDLING },
    deadline: { op: "handle_case", fixed: { measure: "deadline" }, fields: HANDLING },
    explain: { op: "handle_case", fixed: { measure: "explain" }, fields: HANDLING },
    rectify: { op: "rectify_case", fixed: {}, fields: [["note", "整改情况"]] },
    follow_up: { op: "follow_up_case", fixed: {}, fields: [["note", "回访记录", true]],
                 choice: ["result", "回访结果", FOLLOW_UP_NAMES] },
    appeal: { op: "appeal_case", fixed: {}, fields: [["reason", "申诉理由"]] },
    uphold: { op: "decide_appeal", fixed: { uphold: true }, fields: [["reason", "审核意见"]] },
    reject: { op: "decide_appeal", fixed: { uphold: false }, fields: [["reason", "审核意见"]] },
    withdraw: { op: "withdraw_appeal", fixed: {}, fields: [] },
  };
  const DECISIONS = ["uphold", "reject"];
  let account = null;   // ours, as the hello reply says it: a case's appeal may be ours

  function history(c) {
    const lines = [];
    for (const w of c.withdrawn) lines.push(`${CASE_ACTION_NAMES.withdraw}：${w.reason}（${actBy(w)}）`);
    if (c.appeal) lines.push(`申诉：${c.appeal.reason}（${actBy(c.appeal)}）`);
    if (c.decision) lines.push(`${CASE_STATUS_NAMES[c.decision.upheld ? "upheld" : "rejected"]}：${c.decision.reason}（${actBy(c.decision)}）`);
    if (c.handling) {
      lines.push(`${CASE_ACTION_NAMES[c.handling.measure]}：${c.handling.finding}；公开答复：${c.handling.published}（${actBy(c.handling)}）`);
    }
    if (c.rectified) lines.push(`${CASE_ACTION_NAMES.rectify}：${c.rectified.note}（${actBy(c.rectified)}）`);
    return [...lines, ...followUpLines(c.follow_ups)];
  }

  // An appeal a manager made is decided by another manager (the server refuses its maker too),
  // and only its maker may withdraw it; a clerk's appeal is theirs to withdraw. An appeal of a
  // log older than accounts (`account` null) keeps every act, and the server judges.
  const byManager = (c) => c.appeal && c.appeal.clerk === null;
  const mine = (c) => byManager(c) && c.appeal.account === account;

  function actions(c) {
    return c.actions.filter((a) => (a === "withdraw"
      ? byManager(c) && (mine(c) || c.appeal.account === null)
      : !(mine(c) && DECISIONS.includes(a))));
  }

  function extra(c) {
    if (!(mine(c) && c.status === "appealing")) return null;
    return element("p", { class: "case-note", textContent: "申诉由您提出，须由另一名管理人员审核" });
  }

  const list = workList({
    key: "case", event: "case", snapshot: "cases", list: "cases", summary: "cases-summary",
    empty: "没有待办的差评工单", actionNames: CASE_ACTION_NAMES, acts: ACTS, history, actions, extra,
    keep: (c) => c.pending,
    title: (c) => `${c.case} ${c.ticket} 号`,
    statusText: (c) => (c.awaits_follow_up ? `${c.status_text}，待回访` : c.status_text),
    about: (c) => `${c.window} 号窗口 · ${c.clerk_name}（${c.department_name}）· ${c.ticket} 号 · ${dateText(c.day)}评价“${c.score_name}”${c.reasons.length ? `：${c.reasons.join("、")}` : ""}`,
  });

  function attach(dashboard) {
    dashboard.onHello((reply) => { account = reply.account; });   // before the list draws
    list.attach(dashboard);
  }

  window.Cases = { attach };
})();
