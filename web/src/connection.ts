// The stream's connection state, shown apart from any run's status: live, reconnecting in N s,
// or offline (and why).
import { html } from 'htm/preact';
import type { Connection } from './live.js';

export function ConnectionBadge({ connection, now }: { connection: Connection; now: number }) {
  const { state } = connection;
  const text =
    state === 'live'
      ? 'live'
      : state === 'connecting'
        ? 'connecting…'
        : state === 'reconnecting'
          ? connection.retryAt && connection.retryAt > now
            ? `reconnecting in ${Math.ceil((connection.retryAt - now) / 1000)} s`
            : 'reconnecting…'
          : `offline${connection.reason ? `: ${connection.reason}` : ''}`;
  return html`<span class=${`connection conn-${state}`} data-connection=${state} title="the live stream's connection (not a run's status)">stream: ${text}</span>`;
}
