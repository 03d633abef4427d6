// Records every frame a live-stream client sees for one project, across reconnects (resuming from
// the highest seq seen, as a real client does), without the reordering or de-duplication a client
// library would do — so a seq that goes backwards is seen as it arrives.
import WebSocket from 'ws';

export interface RecordedFrame {
  type: string;
  projectId: string;
  seq: number;
  payload: any;
  /** Connection number (1 = the first). */
  connection: number;
  at: number;
}

export interface WsRecorder {
  frames: RecordedFrame[];
  connections: number;
  closes: Array<{ code: number; reason: string; at: number }>;
  /** The seq order problems: a frame whose seq is not above every earlier one (a resync may equal it). */
  seqProblems(): string[];
  /** The last execution-update/resync payload status seen. */
  lastStatus(): string | undefined;
  close(): Promise<void>;
}

export function recordStream(port: number, projectId: string, token?: string): WsRecorder {
  const frames: RecordedFrame[] = [];
  const closes: WsRecorder['closes'] = [];
  let connections = 0;
  let stopped = false;
  let ws: WebSocket | null = null;
  const maxSeq = () => frames.filter((f) => f.projectId === projectId && f.type !== 'hello' && f.type !== 'error').reduce((m, f) => Math.max(m, f.seq), -1);

  const open = () => {
    if (stopped) return;
    const n = ++connections;
    const last = maxSeq();
    const query = `projectId=${encodeURIComponent(projectId)}${last >= 0 ? `&lastSeq=${last}` : ''}`;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/devteam?${query}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    ws = socket;
    socket.on('message', (data) => {
      try {
        const f = JSON.parse(data.toString());
        frames.push({ type: f.type, projectId: f.projectId, seq: f.seq, payload: f.payload, connection: n, at: Date.now() });
      } catch {
        frames.push({ type: 'unparsable', projectId: '', seq: -1, payload: data.toString().slice(0, 200), connection: n, at: Date.now() });
      }
    });
    socket.on('error', () => {});
    socket.on('close', (code, reason) => {
      closes.push({ code, reason: reason.toString(), at: Date.now() });
      if (!stopped) setTimeout(open, 250);
    });
  };
  open();

  return {
    frames,
    get connections() {
      return connections;
    },
    closes,
    seqProblems() {
      const problems: string[] = [];
      let max = -1;
      let maxFrame: RecordedFrame | undefined;
      for (const f of frames) {
        if (f.projectId !== projectId || f.type === 'hello' || f.type === 'error') continue;
        const backwards = f.type === 'resync' ? f.seq < max : f.seq <= max;
        if (backwards) {
          problems.push(
            `${f.type} seq ${f.seq} (connection ${f.connection}) after seq ${max} (${maxFrame!.type}, connection ${maxFrame!.connection})${f.payload?.status ? `, status ${f.payload.status}` : ''}`,
          );
        }
        if (f.seq > max) {
          max = f.seq;
          maxFrame = f;
        }
      }
      return problems;
    },
    lastStatus() {
      const updates = frames.filter((f) => f.projectId === projectId && (f.type === 'execution-update' || f.type === 'resync'));
      return updates.at(-1)?.payload?.status;
    },
    async close() {
      stopped = true;
      const socket = ws;
      if (!socket || socket.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.terminate();
      });
    },
  };
}
