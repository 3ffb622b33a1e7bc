// The browser's side of the hall protocol (docs/protocol.md), shared by the web pages:
// one WebSocket to the page's own hall on its server (/h/<hall code>/ws, or /ws when the
// page was opened without a hall's path, on a single-hall server), `hello` first, requests answered by id,
// events handed on, and a reconnect with backoff whenever the connection drops (a server
// restart, a network blip). After each reconnect `hello` is said again and its reply, the
// true state, is handed to onHello: the page replaces what it shows with it. A close with
// CLOSE_REVOKED (the PIN or password this page logged in with was reset or removed) is a
// refusal, not a blip: the page is told (onRefused) and does not try the old credentials again.
"use strict";

// The path of the hall this page belongs to: "/h/<code>" when it was opened under it, else "".
function hallPath() {
  const prefix = PROTOCOL.HALL_PATH_PREFIX;
  if (!location.pathname.startsWith(prefix)) return "";
  return prefix + location.pathname.slice(prefix.length).split("/")[0];
}

class HallSocket {
  // hello: the hello parameters ({role: "clerk", badge, pin} …).
  // path: where on the server to connect: the page's hall's /ws, or the county's /county/ws.
  // handlers: onHello(reply), onEvent(event), onStatus("connecting" | "online" | "offline"),
  //           onRefused(error): the server refused hello (a wrong PIN…), or ended the session
//           because its credentials were revoked (error.code "revoked"); no reconnect then.
//           refusals: the error codes of hello that are such a refusal (["unauthorized"]; the
//           mobile 取号 page adds "rate_limited": its code is typed, not tried again).
  constructor(hello, handlers, path = hallPath() + "/ws") {
    this.hello = hello;
    this.handlers = handlers;
    this.nextId = 1;
    this.pending = new Map();
    this.socket = null;
    this.retry = 0;
    this.stopped = false;
    this.timer = null;
    // The page's own server, and the one in use: another server's, when the page's does not
    // lead the hall now and named the one that does (error `moved`), or the next live server
    // of the list the last hello gave, when the one in use cannot be reached.
    this.home = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.url = this.home;
    this.servers = [this.home];   // and the other live servers, from the last hello's `servers`
    this.connect();
  }

  connect() {
    this.handlers.onStatus && this.handlers.onStatus("connecting");
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = async () => {
      opened = true;
      const reply = await this.request("hello", this.hello).catch((error) => ({ ok: false, error }));
      if (socket !== this.socket) return;
      if (!reply.ok) {
        if (reply.error && reply.error.code === "moved" && reply.error.leader) {
          this.url = reply.error.leader;
          this.retry = 0;
          socket.close();
        } else if (reply.error && (this.handlers.refusals || ["unauthorized"]).includes(reply.error.code)) {
          this.stop();
          this.handlers.onRefused && this.handlers.onRefused(reply.error);
        } else {
          socket.close();
        }
        return;
      }
      this.retry = 0;
      this.servers = [...new Set([this.home, ...(reply.servers || [])])];
      this.handlers.onStatus && this.handlers.onStatus("online");
      this.handlers.onHello && this.handlers.onHello(reply);
    };
    socket.onmessage = (message) => {
      if (socket !== this.socket) return;   // stopped, or replaced: its handlers hear nothing
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if ("re" in frame) {
        const waiting = this.pending.get(frame.re);
        if (waiting) {
          this.pending.delete(frame.re);
          waiting.resolve(frame);
        }
      } else if (frame.ev) {
        this.handlers.onEvent && this.handlers.onEvent(frame);
      }
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      if (event.code === PROTOCOL.CLOSE_REVOKED) {
        this.stop();
        this.handlers.onRefused && this.handlers.onRefused(
          { code: "revoked", message: event.reason || "登录已失效，请重新登录" });
        return;
      }
      this.failPending("与服务器的连接已中断，本次操作可能未生效，请稍后重试");
      this.socket = null;
      if (event.code === PROTOCOL.CLOSE_MOVED) this.retry = 0;   // served elsewhere now: look again soon
      if (!opened) {   // that server is gone: the next one of the list (each sends on to the leader)
        this.url = this.servers[(this.servers.indexOf(this.url) + 1) % this.servers.length];
      }
      if (!this.stopped) {
        this.handlers.onStatus && this.handlers.onStatus("offline");
        this.scheduleReconnect();
      }
    };
  }

  scheduleReconnect() {
    const delay = Math.min(10000, 500 * 2 ** this.retry) * (0.75 + Math.random() / 2);
    this.retry = Math.min(this.retry + 1, 5);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  failPending(message) {
    for (const waiting of this.pending.values()) {
      waiting.resolve({ ok: false, error: { code: "offline", message } });
    }
    this.pending.clear();
  }

  // Resolves with the reply ({ok: true, …} or {ok: false, error: {code, message}}); never
  // rejects for a server refusal, so the page shows error.message as it is.
  request(op, params = {}, timeoutMs = 10000) {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.resolve({ ok: false, error: { code: "offline", message: "未连接到服务器，请稍候重试" } });
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          resolve({ ok: false, error: { code: "timeout", message: "服务器没有及时回应，请稍后重试" } });
        }
      }, timeoutMs);
      this.pending.set(id, { resolve: (reply) => { clearTimeout(timer); resolve(reply); } });
      socket.send(JSON.stringify({ id, op, ...params }));
    });
  }

  // Say hello again at once on a fresh connection, without going through "offline": for the
  // server's `day_started` (a new service day: the state a page holds is yesterday's). A
  // connection allows one hello, so the old one is closed; requests still waiting on it fail.
  rehello() {
    if (this.stopped) return;
    const socket = this.socket;
    this.socket = null;
    this.failPending("服务器已开始新的一天，本次操作未完成，请重试");
    clearTimeout(this.timer);
    if (socket) socket.close();
    this.retry = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    this.failPending("已断开");
    if (socket) socket.close();
  }
}
