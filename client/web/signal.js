// The class's WebSocket signaling channel, /ws (docs/PROTOCOL.md section 4), for the pages:
// join with the link's token, keep the participant list current from the relay's events, answer
// the idle timer with pings, and reconnect while the page wants it. A relay without /ws (or one
// that refuses the join) leaves `available` false, and the pages fall back to HTTP polling.

const PING_MS = 20000;

export class Signal {
  /**
   * onChange(signal) is called whenever the participant list, the class or the connection state
   * changes; onMessage(msg) gets every message from the relay.
   */
  constructor(classId, token, { onChange = () => {}, onMessage = () => {} } = {}) {
    this.classId = classId;
    this.token = token;
    this.onChange = onChange;
    this.onMessage = onMessage;
    this.available = false; // a join has succeeded at least once
    this.joined = false;
    this.cls = null;
    this.you = null;
    this.participants = new Map();
    this.error = null;
    this.ws = null;
    this.timer = 0;
    this.attempt = 0;
    this.stopped = false;
  }

  connect() {
    this.stopped = false;
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
    let ws;
    try {
      ws = new WebSocket(url, 'classrelay.v1');
    } catch {
      return;
    }
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'join', id: 'join', class: this.classId, token: this.token }));
    ws.onmessage = (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      this.handle(msg);
      this.onMessage(msg);
    };
    ws.onclose = (e) => {
      const wasJoined = this.joined;
      this.joined = false;
      clearInterval(this.timer);
      this.timer = 0;
      this.ws = null;
      this.onChange(this);
      // Reconnect only to a relay that has /ws and accepted us; auth refusals (close codes
      // 4011-4039) and a relay without /ws are final for this page.
      const refused = e.code >= 4000 && e.code < 4100 && e.code !== 4081;
      if (!this.stopped && (wasJoined || this.available) && !refused) {
        const delay = Math.min(10000, 1000 * 2 ** Math.min(this.attempt++, 4));
        setTimeout(() => { if (!this.stopped) this.connect(); }, delay);
      }
    };
  }

  close() {
    this.stopped = true;
    if (this.ws) this.ws.close(1000);
  }

  send(msg) {
    if (this.ws && this.joined) this.ws.send(JSON.stringify(msg));
  }

  handle(msg) {
    switch (msg.type) {
      case 'joined':
        this.joined = true;
        this.available = true;
        this.attempt = 0;
        this.error = null;
        this.cls = msg.class || null;
        this.you = msg.you || null;
        this.participants = new Map((msg.participants || []).map((p) => [p.id, p]));
        clearInterval(this.timer);
        this.timer = setInterval(() => this.send({ type: 'ping' }), PING_MS);
        break;
      case 'participant_joined':
      case 'participant_updated':
        if (msg.participant && msg.participant.id) {
          const old = this.participants.get(msg.participant.id) || {};
          this.participants.set(msg.participant.id, { ...old, ...msg.participant });
        }
        break;
      case 'participant_left':
        this.participants.delete(msg.participant);
        break;
      case 'class_state':
        if (this.cls) this.cls.state = msg.state;
        break;
      case 'stage':
        if (this.cls) this.cls.stage = msg.participant;
        break;
      case 'hand': {
        const p = this.participants.get(msg.participant);
        if (p) p.hand = msg.state === 'raised';
        break;
      }
      case 'error':
        this.error = msg;
        break;
      default:
        return;
    }
    this.onChange(this);
  }

  /** The participants of a role, e.g. 'classroom'. */
  byRole(role) {
    return [...this.participants.values()].filter((p) => p.role === role);
  }
}
