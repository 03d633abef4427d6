// The dashboard's entry: one live store for the tab, the stream started, the page rendered.
import { render } from 'preact';
import { html } from 'htm/preact';
import { App } from './app.js';
import { Live } from './live.js';
import './style.css';

const live = new Live();
live.start();
// For tests and benchmarks driving the page: what the stream delivered (bounded).
(globalThis as { devteamDashboard?: unknown }).devteamDashboard = { live };
render(html`<${App} live=${live} />`, document.getElementById('app')!);
