/**
 * A WebSocket that reconnects with exponential back-off until told the stream is over.
 * No DOM: the WebSocket class and timer functions can be injected, so node tests drive it.
 *
 * States reported through onState: "connecting", "connected", "reconnecting", "closed".
 */

import { backoffDelay } from "./viewer-state.js";

/** Close codes 4400–4499 are the server saying "never retry" (unauthorised, not found…). */
function isFinalCloseCode(code) {
  return code >= 4400 && code < 4500;
}

export class LiveSocket {
  /**
   * @param {object} options
   * @param {() => string} options.url             called before every (re)connect
   * @param {(message: any) => void} options.onMessage  parsed JSON of each message
   * @param {(state: string) => void} [options.onState]
   * @param {() => boolean} [options.shouldReconnect]   false once the execution is terminal
   */
  constructor({
    url,
    onMessage,
    onState = () => {},
    shouldReconnect = () => true,
    WebSocketImpl = globalThis.WebSocket,
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (id) => clearTimeout(id),
  }) {
    Object.assign(this, { url, onMessage, onState, shouldReconnect, WebSocketImpl, setTimer, clearTimer });
    this.attempt = 0;
    this.socket = null;
    this.timer = null;
    this.stopped = false;
    this.state = "idle";
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    this.timer = null;
    if (this.stopped) return;
    if (this.state !== "reconnecting") this.setState("connecting");
    let socket;
    try {
      socket = new this.WebSocketImpl(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.setState("connected");
    socket.onmessage = (event) => this.receive(event);
    socket.onclose = (event) => this.handleClose(socket, event);
    socket.onerror = () => {
      /* a close event always follows; reconnecting is decided there */
    };
  }

  receive(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return; // not JSON: ignore rather than break the stream
    }
    // Reset the back-off only once data flows, so a server that accepts then drops at once
    // is still retried slower and slower.
    this.attempt = 0;
    this.onMessage(message);
  }

  handleClose(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.stopped || isFinalCloseCode(event?.code) || !this.shouldReconnect()) {
      this.stop();
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    this.setState("reconnecting");
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.timer = this.setTimer(() => this.connect(), delay);
  }

  /** Close for good (the execution is over, or the page is going away). */
  stop() {
    this.stopped = true;
    if (this.timer != null) this.clearTimer(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= 1) socket.close(1000);
    this.setState("closed");
  }
}
