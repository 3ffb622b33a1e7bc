// The hall's 投诉建议 page (/complain, the QR the kiosk and the pad show, for a citizen without a
// ticket): today's hall code, as on the mobile 取号 page, proves the citizen is in the hall; then
// the form every citizen's page has (common/complain-form.js). It speaks as `mobile`.
"use strict";

let socket = null;
$("status-link").href = `${hallPath()}/ts`;

hallCodeStep((code) => {
  if (socket) socket.stop();
  socket = mobileSocket(code, "已连接", {
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
      codeRefused(error.message);
    },
  });
});
