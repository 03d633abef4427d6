// Home: the tenant's projects, live, with a filter by status.
import { html } from 'htm/preact';
import type { ProjectView } from '../projection.js';
import { ago, ErrorCell, ProgressBar, STATUSES, StatusBadge, TaskCell } from '../projection.js';

export function ProjectsPage({ views, filter, onFilter, now }: { views: ProjectView[]; filter: string; onFilter: (status: string) => void; now: number }) {
  const shown = filter ? views.filter((v) => v.status === filter) : views;
  return html`<section class="projects">
    <header class="bar">
      <h2>Projects</h2>
      <label>status
        <select name="status-filter" value=${filter} onChange=${(e: Event) => onFilter((e.target as HTMLSelectElement).value)}>
          <option value="">all</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <span class="muted">${shown.length} of ${views.length}</span>
      <a class="button" href="#/new">initialize a project</a>
    </header>
    <table class="project-list">
      <thead><tr><th>project</th><th>status</th><th>phase</th><th>current task</th><th>attempt</th><th>progress</th><th>last error</th><th>updated</th></tr></thead>
      <tbody>
        ${shown.length === 0 ? html`<tr><td colspan="8" class="muted">no project${filter ? ` is ${filter}` : ' yet'}</td></tr>` : ''}
        ${shown.map(
          (v) => html`<tr key=${v.projectId} data-project=${v.projectId} data-status=${v.status ?? ''} data-seq=${v.seq ?? ''}>
            <td><a href=${`#/p/${encodeURIComponent(v.projectId)}`}>${v.projectId}</a></td>
            <td><${StatusBadge} status=${v.status} /></td>
            <td>${v.phase ?? '—'}</td>
            <td><${TaskCell} view=${v} /></td>
            <td>${v.attempt || '—'}</td>
            <td><${ProgressBar} progress=${v.progress} /></td>
            <td><${ErrorCell} view=${v} /></td>
            <td>${ago(v.updatedAt, now)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}
