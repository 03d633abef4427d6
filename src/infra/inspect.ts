// `--inspect`: streams the project actors' XState inspection events to the Stately inspector, so
// a developer can watch the machines live. Targets: "sky" (a shareable stately.ai URL, needs the
// internet), "local[:port]" (an inspector bridge served from this process; open the printed URL),
// or a ws:// URL of an inspector server already running.
import { createSkyInspector, createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import type { InspectionEvent, Observer } from 'xstate';
import type { Logger } from './log.js';

export interface Inspection {
  inspect: Observer<InspectionEvent>;
  stop(): void;
}

export function startInspection(target: string, log: Logger): Inspection {
  if (target === 'sky') {
    const inspector = createSkyInspector({ autoStart: true, onerror: (err) => log.warn({ err }, 'the Stately sky inspector failed') });
    log.info('XState inspector: sky (the inspection URL is printed by @statelyai/inspect)');
    return { inspect: inspector.inspect, stop: () => inspector.stop() };
  }
  const local = /^local(?::(\d{1,5}))?$/.exec(target);
  if (local) {
    const port = Number(local[1] ?? 8788);
    const server = createInspectorServer({ port, autoOpen: false });
    const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
    log.info({ port }, `XState inspector: open http://127.0.0.1:${port} to watch the project machines`);
    return {
      inspect: inspector.inspect,
      stop: () => {
        inspector.stop();
        server.stop();
      },
    };
  }
  if (/^wss?:\/\//.test(target)) {
    const inspector = createWebSocketInspector({ url: target });
    log.info({ url: target }, 'XState inspector: sending inspection events');
    return { inspect: inspector.inspect, stop: () => inspector.stop() };
  }
  throw new Error(`--inspect: expected "sky", "local[:port]" or a ws:// URL, got "${target}"`);
}
