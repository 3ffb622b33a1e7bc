// The citizen's live ticket page (/t/<token>, the ticket's QR): the number, where it stands,
// and, once served, a rating if the window's pad did not get one; and a 投诉建议 form
// (common/complain-form.js). It speaks the hall protocol
// as `citizen` with the token in its own address: the server sends only this ticket's view.
"use strict";

// which scores are 差评, and the word for a booking's ticket, from the server (/common/vocabulary.js)
const { BAD_SCORES, BOOKED_MARK } = VOCABULARY;
const ENDED_HINTS = {
  finished: "业务已办结，感谢您的耐心等候。",
  no_show: "叫号时您未到窗口，号码已过。",   // and the hall's missed-call advice (onHello)
  cancelled: "这张小票已作废（当天服务已结束）。",
  held: "您的业务已暂时挂起。准备好后请回到原窗口，工作人员会为您叫回。",
};
let missedCall = "";   // the hall's words for what to do after 过号, as on the slip and the kiosk

const token = decodeURIComponent(location.pathname.slice(hallPath().length).replace(/^\/t\//, ""));
let ticket = null;
let reasons = [];
let levels = [];   // the five levels with the hall's names, best first (hello's rating_levels)
let chosen = null;
let rated = false;

// A face for each score, drawn, so that the choice does not hang on colour or on an emoji font.
function face(score) {
  const mouth = {
    5: "M14 29 Q24 40 34 29", 4: "M15 30 Q24 36 33 30", 3: "M15 32 L33 32",
    2: "M15 34 Q24 28 33 34", 1: "M14 36 Q24 26 34 36",
  }[score];
  const fill = { 5: "#2e7d32", 4: "#558b2f", 3: "#8d6e00", 2: "#c4561a", 1: "#b3261e" }[score];
  return `<svg viewBox="0 0 48 48" aria-hidden="true"><circle cx="24" cy="24" r="21" fill="#fff"
    stroke="${fill}" stroke-width="3"/><circle cx="17" cy="19" r="3" fill="${fill}"/>
    <circle cx="31" cy="19" r="3" fill="${fill}"/><path d="${mouth}" fill="none"
    stroke="${fill}" stroke-width="3" stroke-linecap="round"/></svg>`;
}

function minutes(seconds) {
  const m = Math.max(1, Math.ceil(seconds / 60));
  return m >= 60 ? `约 ${Math.floor(m / 60)} 小时 ${m % 60} 分钟` : `约 ${m} 分钟`;
}

// The hall's advice is written as it is printed after "请留意叫号，": on the page it ends a sentence.
function sentenceEnd(text) {
  return /[。！？!?.]$/.test(text) ? "" : "。";
}

function clock(iso) {
  return iso ? iso.slice(11, 16) : "";
}

function show(view) {
  ticket = view;
  $("number").textContent = view.number;
  $("service").textContent = view.service ? `${view.category_name} · ${view.service}` : view.category_name;
  // The guide as it was when the ticket was taken (the page is at <hall>/t/<token>).
  $("guide").hidden = !view.guide;
  if (view.guide) $("guide").href = `../${view.guide}`;
  // A checked-in booking's ticket (预约): its slot, and while it waits, how it is ordered.
  $("booked").hidden = !view.booked;
  $("booked-mark").textContent = BOOKED_MARK;
  $("booked-slot").textContent = view.booked ? view.slot_text : "";
  const status = $("status");
  status.textContent = view.status_text;
  status.className = "status" + (view.status === "called" ? " called"
    : view.status === "finished" ? " finished" : view.status === "waiting" ? "" : " ended");
  const waiting = view.status === "waiting";
  $("progress").hidden = !waiting;
  if (waiting) {
    $("ahead").textContent = view.ahead;
    // No time when no window that may call the ticket has a clerk: the server says so instead.
    $("wait-row").hidden = view.estimated_wait_s == null;
    $("wait").textContent = view.estimated_wait_s == null ? "—" : minutes(view.estimated_wait_s);
  }
  $("hint").textContent = waiting
    ? view.wait_note || (view.ahead === 0 ? "马上就到您了，请留意叫号。" : "请在大厅休息区等候，轮到您时会叫号。")
    : view.status === "called" ? `请带好材料到 ${view.window} 号窗口（${view.window_name}）办理。`
      : view.status === "no_show" ? ENDED_HINTS.no_show + missedCall + sentenceEnd(missedCall)
        : ENDED_HINTS[view.status] || "";
  $("hint").className = "hint" + (waiting && view.wait_note ? " alert" : "");
  $("booked-order").hidden = !(view.booked && waiting);
  $("issued").textContent = `取号时间 ${clock(view.issued_at)}`;
  document.title = view.status === "called" ? `请到 ${view.window} 号窗口` : `${view.number} 排队进度`;
  if (view.status === "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
  $("rating").hidden = !view.can_rate || rated;
}

function buildRating() {
  $("scores").innerHTML = "";
  for (const [score, words] of levels) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.score = score;
    button.setAttribute("aria-pressed", "false");
    button.innerHTML = face(score);   // our own drawing; the level's name is the hall file's text
    const name = document.createElement("span");
    name.textContent = words;
    button.append(name);
    button.addEventListener("click", () => choose(score));
    $("scores").append(button);
  }
  $("reason-list").innerHTML = "";
  for (const reason of reasons) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = reason;
    box.addEventListener("change", updateSubmit);
    label.append(box, reason);
    $("reason-list").append(label);
  }
}

function choose(score) {
  chosen = score;
  for (const button of $("scores").children) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.score) === score));
  }
  $("rating-error").textContent = "";
  if (BAD_SCORES.includes(score)) {
    $("reasons").hidden = false;
    updateSubmit();
    $("reasons").scrollIntoView({ behavior: "smooth", block: "nearest" });
  } else {
    $("reasons").hidden = true;
    send(score, []);
  }
}

function picked() {
  return [...$("reason-list").querySelectorAll("input:checked")].map((box) => box.value);
}

function updateSubmit() {
  $("submit").disabled = picked().length === 0;
}

async function send(score, why) {
  const reply = await socket.request("rate", { score, reasons: why });
  if (reply.ok || (reply.error && reply.error.code === "conflict")) {
    rated = true;
    $("rating").hidden = true;
    $("thanks").hidden = !reply.ok;
    if (!reply.ok) $("hint").textContent = reply.error.message;
  } else {
    $("rating-error").textContent = reply.error.message;
  }
}

$("submit").addEventListener("click", () => send(chosen, picked()));

const socket = new HallSocket({ role: "citizen", ticket: token }, {
  onHello(reply) {
    const hall = reply.snapshot.hall;
    $("hall").textContent = hall.name;
    $("phone").textContent = hall.consultation_phone ? `咨询电话 ${hall.consultation_phone}` : "";
    missedCall = hall.missed_call;
    $("missed-call").textContent = missedCall;
    $("missed-call-end").textContent = sentenceEnd(missedCall);
    if (JSON.stringify([hall.rating_reasons, hall.rating_levels]) !== JSON.stringify([reasons, levels])) {
      reasons = hall.rating_reasons;
      levels = hall.rating_levels;
      buildRating();
    }
    if ($("complain").hidden) {   // once: the form keeps what is typed across reconnections
      $("complain-form").append(complaintForm(hall, (params) => socket.request("complain", params)));
      $("complain").hidden = false;
    }
    show(reply.ticket);
  },
  onEvent(event) {
    if (event.ev === "ticket" && event.number === (ticket && ticket.number)) show(event);
  },
  onStatus(status) {
    const link = $("link");
    link.textContent = status === "online" ? "实时更新中" : status === "offline" ? "连接中断，正在重连…" : "正在连接…";
    link.className = "link" + (status === "online" ? "" : " offline");
  },
  onRefused(error) {
    $("status").textContent = error.message;
    $("status").className = "status ended";
    $("link").textContent = "";
  },
});
