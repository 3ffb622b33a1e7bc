// The hall's 投诉建议 page (/complain, the QR the kiosk and the pad show, for a citizen without a
// ticket): today's hall code, as on the mobile 取号 page, proves the citizen is in the hall; then
// the form every citizen's page has (common/complain-form.js). It speaks as `mobile`.
"use strict";

let socket = null;
$("status-link").href = `${hallPath()}/ts`;

function connected(text, offline = false) {
  $("link").textContent = text;
  $("link").className = "link" + (offline ? " offline" : "");
}

$("code-step").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = $("code").value.trim();
  if (!code) {
    $("code-error").textContent = "请输入大厅显示屏上的今日取号码";
    return;
  }
  $("code-error").textContent = "";
  $("code-go").disabled = true;
  if (socket) socket.stop();
  socket = new HallSocket({ role: "mobile", code }, {
    refusals: ["unauthorized", "rate_limited"],
    onStatus: (state) => {
      if (state === "online") connected("已连接");
      else if (state === "offline") connected("连接中断，正在重新连接…", true);
      else connected("正在连接…");
    },
    onHello: (reply) => {
      const hall = reply.snapshot.hall;
      $("hall").textContent = `${hall.name} · 投诉建议`;
      $("phone-line").textContent = hall.complaint_phone ? `监督电话 ${hall.complaint_phone}` : "";
      if (!$("code-step").hidden) {
        $("form-step").append(complaintForm(hall, (params) => socket.request("complain", params)));
        $("code-step").hidden = true;
        $("form-step").hidden = false;
      }
    },
    onRefused: (error) => {
      socket.stop();
      socket = null;
      $("code-go").disabled = false;
      $("code-error").textContent = error.message;
      connected("请输入今日取号码");
    },
  });
});
