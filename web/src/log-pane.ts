// The live log pane: agent and build output as it streams, ANSI colours rendered (ansi_up, HTML
// escaped, no links), following the tail unless the reader scrolled up. It draws outside Preact:
// lines arriving in a burst are added once per animation frame as one fragment, and the pane keeps
// at most the buffer's cap of nodes, so 1,000 lines a second neither freeze the tab nor grow it.
import { AnsiUp } from 'ansi_up';
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LogBuffer, LogLine } from './log-buffer.js';

const ansi = new AnsiUp();
ansi.use_classes = true;
ansi.url_allowlist = {};

/** Lines drawn per animation frame: a burst is spread over frames instead of one long task. */
const LINES_PER_FRAME = 150;

/** Within this many pixels of the bottom the pane follows the tail. */
const FOLLOW_SLACK = 24;

function lineNode(line: LogLine): HTMLElement {
  const div = document.createElement('div');
  div.className = `line ${line.source} ${line.stream}`;
  const tag = document.createElement('span');
  tag.className = 'tag';
  tag.textContent = line.source === 'agent' ? 'agent' : 'build';
  const text = document.createElement('span');
  text.className = 'text';
  text.innerHTML = ansi.ansi_to_html(line.text);
  div.append(tag, text);
  return div;
}

export function LogPane({ buffer }: { buffer: LogBuffer }) {
  const ref = useRef<HTMLDivElement>(null);
  const [following, setFollowing] = useState(true);
  const [counts, setCounts] = useState({ count: buffer.count, dropped: buffer.dropped });

  useEffect(() => {
    const pane = ref.current!;
    pane.replaceChildren();
    let shown = 0; // the n of the next line to draw
    let generation = buffer.generation;
    let frame = 0;
    let follow = true;
    const flush = () => {
      frame = 0;
      if (generation !== buffer.generation) {
        generation = buffer.generation;
        pane.replaceChildren();
      }
      const lines = buffer.since(shown);
      setCounts({ count: buffer.count, dropped: buffer.dropped });
      if (lines.length === 0) return;
      // Lines older than the cap are gone from the buffer: start over from what it keeps.
      if (lines[0]!.n !== shown) pane.replaceChildren();
      const batch = lines.slice(0, LINES_PER_FRAME);
      const fragment = document.createDocumentFragment();
      for (const line of batch) fragment.append(lineNode(line));
      pane.append(fragment);
      const excess = pane.childElementCount - buffer.cap;
      for (let i = 0; i < excess; i++) pane.firstElementChild!.remove();
      shown = batch.at(-1)!.n + 1;
      if (follow) pane.scrollTop = pane.scrollHeight;
      if (lines.length > batch.length) frame = requestAnimationFrame(flush);
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(flush);
    };
    const onScroll = () => {
      follow = pane.scrollHeight - pane.scrollTop - pane.clientHeight <= FOLLOW_SLACK;
      setFollowing(follow);
    };
    pane.addEventListener('scroll', onScroll, { passive: true });
    const off = buffer.onChange(schedule);
    schedule();
    return () => {
      off();
      pane.removeEventListener('scroll', onScroll);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [buffer]);

  const jump = () => {
    const pane = ref.current!;
    pane.scrollTop = pane.scrollHeight;
  };
  return html`<section class="log">
    <header>
      <h3>Live log</h3>
      <span class="muted" data-log-count=${counts.count}>${counts.count} lines${counts.dropped ? `, the last ${buffer.cap} kept` : ''}</span>
      ${following ? html`<span class="muted">following</span>` : html`<button type="button" onClick=${jump}>follow the tail</button>`}
    </header>
    <div class="log-lines" ref=${ref} data-testid="log"></div>
  </section>`;
}
