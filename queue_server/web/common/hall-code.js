// The first step of the hall's pages for citizens without a ticket, the mobile 取号 page (/take)
// and the 投诉建议 page (/complain): today's hall code (shown on the board) opens a `mobile`
// connection. Each page has #code-step (a form), #code, #code-error, #code-go and #link.
"use strict";

// The page's connection line (#link): yellow while the connection is away.
function linkStatus(text, offline = false) {
  $("link").textContent = text;
  $("link").className = "link" + (offline ? " offline" : "");
}

// `start(code)` once a code is typed in (the button waits until the page enables it again).
function hallCodeStep(start) {
  $("code-step").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("code").value.trim();
    if (!code) {
      $("code-error").textContent = "请输入大厅显示屏上的今日取号码";
      return;
    }
    $("code-error").textContent = "";
    $("code-go").disabled = true;
    start(code);
  });
}

// The code refused (wrong, yesterday's, too many tries): asked again, with the server's words.
function codeRefused(message) {
  $("code-error").textContent = message;
  $("code-go").disabled = false;
  linkStatus("请输入今日取号码");
}

// The `mobile` connection with today's code; `online`: what #link says once connected. A wrong
// code or too many tries come to `handlers.onRefused`.
function mobileSocket(code, online, handlers) {
  return new HallSocket({ role: "mobile", code }, {
    refusals: ["unauthorized", "rate_limited"],
    onStatus: (state) => {
      if (state === "online") linkStatus(online);
      else if (state === "offline") linkStatus("连接中断，正在重新连接…", true);
      else linkStatus("正在连接…");
    },
    ...handlers,
  });
}
