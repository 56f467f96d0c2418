/**
 * The DRUM sidebar: running servers (URL, health, memory, stop) and the model
 * folders under the file browser's directory (target type, artifact, hooks,
 * problems; inspect, open custom.py).  Plain DOM, one live row per server
 * (PID) and per folder (path): a poll morphs the rows to their new rendering,
 * so hover, focus, selection and scroll survive it (see dom.ts).
 */
import { Widget } from '@lumino/widgets';

import { IModelFolder, IServer } from './api';
import { h, setText, syncList } from './dom';
import { DrumState, OFFLINE_MESSAGE } from './state';

export interface ISidebarActions {
  stop(server: IServer): Promise<void>;
  inspect(model: IModelFolder): Promise<void>;
  open(model: IModelFolder): Promise<void>;
  newModel(): Promise<void>;
  refresh(): Promise<void>;
}

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** A number as the sidebar writes every number: comma thousands separators, at most one decimal. */
export function fmt(n: number): string {
  return NUMBER.format(n);
}

/** Where a badge's target type comes from, for its tooltip. */
const SOURCES: { [key: string]: string } = {
  metadata: 'from model-metadata.yaml',
  labels: 'from the class labels given (class_labels.txt or model-metadata.yaml)',
  artifact: 'inferred from the artifact',
  hooks: 'inferred from the hooks',
  assumed: 'assumed: nothing in the folder says'
};

/** A folder path that wraps after its slashes only: the parent folders dim, the folder's own name plain. */
function pathParts(path: string): Node[] {
  const parts = path.split('/');
  const name = parts.pop() || path;
  const out: Node[] = [];
  for (const part of parts) {
    out.push(h('span', { class: 'jp-drumnb-parent' }, `${part}/`), document.createElement('wbr'));
  }
  out.push(document.createTextNode(name));
  return out;
}

/** A button that disables itself while its action runs.  A row's button is built once and kept across
 * polls, so its action must look the row's item up when clicked rather than keep the item it was built with. */
function button(label: string, cls: string, title: string, onClick: () => Promise<void>): HTMLElement {
  // data-action: a kept button is never morphed into another action's button (it keeps its click listener)
  const attrs = { class: `jp-drumnb-button ${cls}`, title, type: 'button', 'data-action': cls };
  const b = h('button', attrs, label) as HTMLButtonElement;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await onClick();
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** A row of a list: its key (``data-key``) and how to build it. */
interface IRow {
  key: string;
  render: () => HTMLElement;
}

function note(key: string, cls: string, text: string): IRow {
  return { key, render: () => h('li', { class: cls }, text) };
}

export class DrumSidebar extends Widget {
  private _state: DrumState;
  private _actions: ISidebarActions;
  private _serversNode: HTMLElement;
  private _modelsNode: HTMLElement;
  private _modelsTitle: HTMLElement;
  private _serversTitle: HTMLElement;
  private _offlineNode: HTMLElement;
  private _servers = new Map<string, IServer>();
  private _models = new Map<string, IModelFolder>();

  constructor(state: DrumState, actions: ISidebarActions) {
    super();
    this._state = state;
    this._actions = actions;
    this.id = 'drumnb-sidebar';
    this.addClass('jp-drumnb-sidebar');
    this.title.caption = 'DRUM models and servers';
    const header = h(
      'div',
      { class: 'jp-drumnb-header' },
      h('span', { class: 'jp-drumnb-brand' }, 'DRUM'),
      button('↻', 'jp-drumnb-refresh', 'Refresh models and servers', () => this._actions.refresh()),
      button('+ New model…', 'jp-drumnb-new', 'New DRUM model…', () => this._actions.newModel())
    );
    this._offlineNode = h('div', { class: 'jp-drumnb-offline', role: 'status', hidden: '' }, OFFLINE_MESSAGE);
    this._serversTitle = h('h3', { class: 'jp-drumnb-section-title' }, 'Servers');
    this._serversNode = h('ul', { class: 'jp-drumnb-servers' });
    this._modelsTitle = h('h3', { class: 'jp-drumnb-section-title' }, 'Models');
    this._modelsNode = h('ul', { class: 'jp-drumnb-models' });
    this.node.append(header, this._offlineNode, this._serversTitle, this._serversNode, this._modelsTitle, this._modelsNode);
    state.changed.connect(this._render, this);
    this._render();
  }

  dispose(): void {
    this._state.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const state = this._state;
    this._offlineNode.hidden = !state.offline;
    this.node.dataset.offline = state.offline ? 'true' : 'false';
    setText(this._serversTitle, `Servers (${state.servers.length})`);
    this._servers = new Map(state.servers.map(s => [String(s.pid), s]));
    syncList(
      this._serversNode,
      state.serversError
        ? [note('error', 'jp-drumnb-error', state.serversError)]
        : state.servers.length
          ? state.servers.map(s => ({ key: String(s.pid), render: () => this._server(s) }))
          : !state.serversLoaded
            ? [note('loading', 'jp-drumnb-empty jp-drumnb-loading', 'Reading the registry of servers…')]
            : [note('empty', 'jp-drumnb-empty', 'No drumnb server runs. Start one with %drum_serve NAME.')],
      row => row.key,
      row => row.render()
    );
    const where = state.path ? `/${state.path}` : '/';
    setText(this._modelsTitle, state.modelsLoaded ? `Models (${state.models.length}) in ${where}` : `Models in ${where}`);
    this._models = new Map(state.models.map(m => [m.path, m]));
    syncList(
      this._modelsNode,
      state.modelsError
        ? [note('error', 'jp-drumnb-error', state.modelsError)]
        : state.models.length
          ? state.models.map(m => ({ key: `model:${m.path}`, render: () => this._model(m) }))
          : !state.modelsLoaded
            ? [note('loading', 'jp-drumnb-empty jp-drumnb-loading', 'Looking for model folders…')]
            : [note('empty', 'jp-drumnb-empty', 'No model folder here. Use “New DRUM model…”.')],
      row => row.key,
      row => row.render()
    );
  }

  private _server(s: IServer): HTMLElement {
    const ok = s.health && s.health.ok;
    const health = ok
      ? `healthy${s.health.latency_ms !== null ? ` (${fmt(s.health.latency_ms)} ms)` : ''}`
      : `unhealthy${s.health && s.health.status ? ` (HTTP ${s.health.status})` : ''}${
          s.health && s.health.message ? `: ${s.health.message}` : ''
        }`;
    const link = h('a', { href: s.proxy_url || s.url, target: '_blank', class: 'jp-drumnb-url' }, s.url);
    return h(
      'li',
      { class: 'jp-drumnb-server', 'data-pid': String(s.pid), 'data-name': s.name, 'data-health': ok ? 'ok' : 'bad' },
      h(
        'div',
        { class: 'jp-drumnb-row' },
        h('span', { class: `jp-drumnb-dot ${ok ? 'jp-mod-ok' : 'jp-mod-bad'}`, title: health }),
        h('span', { class: 'jp-drumnb-name' }, s.name),
        button('Stop', 'jp-drumnb-stop', `Stop server ${s.name} (PID ${s.pid})`, () => this._actions.stop(this._servers.get(String(s.pid)) || s))
      ),
      h('div', { class: 'jp-drumnb-detail' }, link),
      h(
        'div',
        { class: 'jp-drumnb-detail' },
        `${health} · ${s.memory_mb !== null ? `${fmt(s.memory_mb)} MB` : '? MB'} · PID ${s.pid}`
      ),
      s.model ? h('div', { class: 'jp-drumnb-detail jp-drumnb-dim' }, `${s.target_type || ''} ${s.model}`) : null
    );
  }

  private _model(m: IModelFolder): HTMLElement {
    const errors = m.problems.filter(p => p.level === 'error');
    const warnings = m.problems.filter(p => p.level === 'warning');
    const source = m.target_type_source || '';
    const target = m.target_type
      ? h(
          'span',
          {
            class: `jp-drumnb-badge${source === 'assumed' ? ' jp-mod-assumed' : ''}${
              source === 'artifact' || source === 'hooks' ? ' jp-mod-inferred' : ''
            }`,
            'data-source': source,
            title: `${m.target_type}: ${SOURCES[source] || source}${m.target_type_reason ? ` (${m.target_type_reason})` : ''}`
          },
          source === 'assumed' ? `${m.target_type}?` : m.target_type
        )
      : null;
    const files = m.artifacts.join(', ');
    const kind = m.artifact_kind || m.predictor;
    const artifact = m.artifacts.length ? `${files}${kind ? ` (${kind})` : ''}` : 'none';
    const labels =
      m.labels && m.labels.length
        ? h(
            'div',
            { class: 'jp-drumnb-detail jp-drumnb-labels', title: m.labels_source ? `labels from ${m.labels_source}` : '' },
            m.target_type === 'binary' && m.labels.length === 2
              ? `labels: ${m.labels[0]} (negative), ${m.labels[1]} (positive)`
              : `labels: ${m.labels.join(', ')}`
          )
        : null;
    const hooks = m.hooks.length ? m.hooks.join(', ') : m.hook_file ? 'none found' : 'no hook file';
    const problems = m.problems.length
      ? h(
          'ul',
          { class: 'jp-drumnb-problems' },
          ...m.problems.map(p => h('li', { class: `jp-drumnb-problem jp-mod-${p.level}` }, p.message))
        )
      : null;
    const status = errors.length ? 'error' : warnings.length ? 'warning' : 'ok';
    return h(
      'li',
      { class: 'jp-drumnb-model', 'data-path': m.path, 'data-name': m.name, 'data-status': status },
      h(
        'div',
        { class: 'jp-drumnb-row' },
        h('span', { class: `jp-drumnb-dot jp-mod-${status}`, title: `${errors.length} errors, ${warnings.length} warnings` }),
        h('span', { class: 'jp-drumnb-name', title: m.abs_path }, ...pathParts(m.path || m.name)),
        target
      ),
      h('div', { class: 'jp-drumnb-detail' }, `artifact: ${artifact}`),
      labels,
      h('div', { class: 'jp-drumnb-detail' }, `hooks: ${hooks}`),
      problems,
      h(
        'div',
        { class: 'jp-drumnb-actions' },
        // a chat-only model has nothing for the score panel (no score hook)
        ['textgeneration', 'agenticworkflow'].includes(m.target_type || '') && !m.hooks.includes('score')
          ? null
          : button(
              m.target_type === 'unstructured' ? 'Inspect' : 'Score panel',
              'jp-drumnb-inspect',
              m.target_type === 'unstructured'
                ? 'Open the unstructured request inspector for this model in a notebook'
                : 'Open the score panel for this model in a notebook (with the target type and labels shown here)',
              () => this._actions.inspect(this._models.get(m.path) || m)
            ),
        m.hook_file
          ? button(`Open ${m.hook_file}`, 'jp-drumnb-open', `Open ${m.path}/${m.hook_file}`, () => this._actions.open(this._models.get(m.path) || m))
          : null
      )
    );
  }
}
