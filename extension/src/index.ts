/**
 * drumnb in JupyterLab: the DRUM sidebar, commands (palette and launcher) and
 * a status-bar item.  REST calls go to drumnb's server extension (drumnb/labext).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { DrumApiError, IModelFolder, IServer, frameworks, newModel, stopServer } from './api';
import { DrumSidebar } from './sidebar';
import { DrumState } from './state';
import { DrumStatus } from './statusbar';

const PLUGIN_ID = 'drumnb:plugin';
const CATEGORY = 'DRUM';
/** The launcher's section of drumnb's cards (not JupyterLab's catch-all "Other"). */
export const LAUNCHER_CATEGORY = 'drumnb';

export namespace CommandIDs {
  export const newModel = 'drumnb:new-model';
  export const insertScore = 'drumnb:insert-score-cell';
  export const insertHooks = 'drumnb:insert-hooks-cell';
  export const openSidebar = 'drumnb:open-sidebar';
  export const refresh = 'drumnb:refresh';
}

const DRUM_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <g class="jp-icon3" fill="#616161">
    <ellipse cx="12" cy="7" rx="8" ry="3"/>
    <path d="M4 7v9c0 1.7 3.6 3 8 3s8-1.3 8-3V7c0 1.7-3.6 3-8 3S4 8.7 4 7zm2 3.2 2 .6v6.4l-2-.6zm4 .9h4v6.6h-4zm6-.3 2-.6v6.4l-2 .6z"/>
  </g>
</svg>`;

export const drumIcon = new LabIcon({ name: 'drumnb:drum', svgstr: DRUM_SVG });

export const HOOKS_CELL = `%%drum_hooks my_model
import pandas as pd


def load_model(code_dir):
    # load your model from code_dir and return it (not None); without load_model, the folder's artifact is loaded
    return {"weights": 1.0}


def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data.select_dtypes("number").sum(axis=1) * model["weights"]})
`;

export const SCORE_CELL = `%%drum_score my_model --data df
# the cell body is hook code for this call only (the model's own hooks stay as they are), e.g.
def post_process(predictions, model):
    return predictions
`;

/** The dialog's choices: languages and Python frameworks with a template, as the server's registry lists them. */
interface IChoices {
  languages: string[];
  frameworks: string[];
}

interface INewModelForm {
  path: string;
  language: string;
  framework: string | null;
}

/** The body of the "New DRUM model…" dialog. */
class NewModelBody extends Widget implements Dialog.IBodyWidget<INewModelForm> {
  private _name: HTMLInputElement;
  private _language: HTMLSelectElement;
  private _framework: HTMLSelectElement;

  constructor(where: string, choices: IChoices) {
    super();
    this.addClass('jp-drumnb-new-dialog');
    const field = (label: string, input: HTMLElement): HTMLElement => {
      const row = document.createElement('label');
      row.className = 'jp-drumnb-field';
      const span = document.createElement('span');
      span.textContent = label;
      row.append(span, input);
      return row;
    };
    this._name = document.createElement('input');
    this._name.className = 'jp-mod-styled jp-drumnb-new-name';
    this._name.value = 'my_model';
    this._name.placeholder = 'folder name';
    const select = (options: string[], cls: string): HTMLSelectElement => {
      const s = document.createElement('select');
      s.className = `jp-mod-styled ${cls}`;
      for (const o of options) {
        const opt = document.createElement('option');
        opt.value = o;
        opt.textContent = o;
        s.appendChild(opt);
      }
      return s;
    };
    this._language = select(choices.languages, 'jp-drumnb-new-language');
    this._framework = select(choices.frameworks, 'jp-drumnb-new-framework');
    this._language.addEventListener('change', () => {
      this._framework.disabled = this._language.value !== 'python';
    });
    const note = document.createElement('p');
    note.className = 'jp-drumnb-dim';
    note.textContent = `Writes the template (hooks, model-metadata.yaml, README, example input) in ${
      where || '/'
    } and trains its example model, as “drumnb new model” does.`;
    this.node.append(
      field('Folder', this._name),
      field('Language', this._language),
      field('Framework', this._framework),
      note
    );
  }

  getValue(): INewModelForm {
    return {
      path: this._name.value.trim(),
      language: this._language.value,
      framework: this._language.value === 'python' ? this._framework.value : null
    };
  }

  onAfterAttach(): void {
    this._name.focus();
    this._name.select();
  }
}

/** The cell that opens a model's panel: the inspector (unstructured) or the score panel, which gets the
 * target type and labels the server inferred (e.g. an H2O MOJO's) when the folder's metadata does not say. */
export function panelCell(model: IModelFolder): string {
  const folder = JSON.stringify(model.abs_path); // a valid Python string literal too
  if (model.target_type === 'unstructured') {
    return `from drumnb.jupyter import widgets\nwidgets.inspector(${folder})`;
  }
  const given = model.load_kwargs || {};
  if (!given.target_type) {
    return `from drumnb.jupyter import widgets\nwidgets.score_panel(model=${folder})`;
  }
  const lines = [
    'from drumnb.jupyter import widgets',
    `score_panel = widgets.score_panel(model=${folder}, target_type=${JSON.stringify(given.target_type)})`
  ];
  const labels =
    given.negative_class_label !== undefined && given.positive_class_label !== undefined
      ? [given.negative_class_label, given.positive_class_label]
      : given.class_labels;
  if (labels && labels.length) {
    const what = labels.length === 2 ? 'negative,positive' : 'in order';
    const from = model.labels_source === 'artifact' ? `, from ${model.artifacts[0] || 'the artifact'}` : '';
    lines.push(`score_panel.labels.value = ${JSON.stringify(labels.join(','))}  # ${what}${from}`);
  }
  lines.push('score_panel');
  return lines.join('\n');
}

function ensureLoadExt(panel: NotebookPanel): boolean {
  const model = panel.content.model;
  if (!model) {
    return false;
  }
  for (let i = 0; i < model.cells.length; i++) {
    if (/(^|\n)\s*%(re)?load_ext\s+drumnb\b/.test(model.cells.get(i).sharedModel.getSource())) {
      return true;
    }
  }
  return false;
}

/** Insert code cells below the active cell of ``panel``; the first one becomes active. */
function insertCells(panel: NotebookPanel, sources: string[]): void {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    return;
  }
  const active = notebook.activeCell;
  const empty = active && active.model.type === 'code' && active.model.sharedModel.getSource().trim() === '';
  let index = empty ? notebook.activeCellIndex : notebook.activeCellIndex + 1;
  if (!empty && model.cells.length === 0) {
    index = 0;
  }
  sources.forEach((source, i) => {
    if (i === 0 && empty) {
      active!.model.sharedModel.setSource(source);
      return;
    }
    model.sharedModel.insertCell(index + i, { cell_type: 'code', source });
  });
  notebook.activeCellIndex = index + sources.length - 1;
  notebook.deselectAll();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'drumnb: a DRUM sidebar, commands and a status-bar item',
  autoStart: true,
  optional: [ICommandPalette, ILauncher, IStatusBar, INotebookTracker, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    statusBar: IStatusBar | null,
    notebooks: INotebookTracker | null,
    browser: IDefaultFileBrowser | null
  ) => {
    const { commands, shell } = app;
    const state = new DrumState();

    const openFile = (path: string) => commands.execute('docmanager:open', { path });

    /** The current notebook, or a new one in ``cwd`` with a running kernel. */
    const notebookFor = async (cwd: string, opts: { fresh?: boolean } = {}): Promise<NotebookPanel> => {
      let panel = opts.fresh ? null : (notebooks?.currentWidget ?? null);
      if (!panel || !panel.isAttached) {
        panel = (await commands.execute('notebook:create-new', { cwd, kernelName: 'python3' })) as NotebookPanel;
      }
      await panel.context.ready;
      await panel.sessionContext.ready;
      shell.activateById(panel.id);
      return panel;
    };

    const actions = {
      async stop(server: IServer): Promise<void> {
        try {
          const result = await stopServer(server.pid);
          Notification.success(`Stopped ${result.name} (PID ${result.pid}, ${result.signal})`, { autoClose: 3000 });
        } catch (error) {
          await showErrorMessage(`Could not stop ${server.name}`, error as Error);
        }
        await state.refreshServers();
      },
      async inspect(model: IModelFolder): Promise<void> {
        const panel = await notebookFor(PathExt.dirname(model.path));
        insertCells(panel, [panelCell(model)]);
        await NotebookActions.run(panel.content, panel.sessionContext);
      },
      async open(model: IModelFolder): Promise<void> {
        if (model.hook_file) {
          await openFile(model.path ? `${model.path}/${model.hook_file}` : model.hook_file);
        }
      },
      async newModel(): Promise<void> {
        await commands.execute(CommandIDs.newModel);
      },
      async refresh(): Promise<void> {
        await state.refresh();
      }
    };

    const sidebar = new DrumSidebar(state, actions);
    sidebar.title.icon = drumIcon;
    shell.add(sidebar, 'left', { rank: 650 });

    commands.addCommand(CommandIDs.openSidebar, {
      label: 'Show the DRUM sidebar',
      caption: 'DRUM model folders and running servers',
      icon: drumIcon,
      execute: () => {
        shell.activateById(sidebar.id);
        void state.refresh();
      }
    });

    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh DRUM models and servers',
      execute: () => state.refresh()
    });

    commands.addCommand(CommandIDs.newModel, {
      label: args => (args['isLauncher'] ? 'New model' : 'New DRUM model…'),
      caption: 'Write a template model folder (drumnb new model) in the current directory',
      icon: drumIcon,
      execute: async args => {
        let form: INewModelForm;
        if (args['path']) {
          form = {
            path: String(args['path']),
            language: String(args['language'] || 'python'),
            framework: args['framework'] ? String(args['framework']) : null
          };
        } else {
          let choices: IChoices;
          try {
            choices = await frameworks();
          } catch (error) {
            await showErrorMessage('New DRUM model', error as Error);
            return;
          }
          const answer = await showDialog({
            title: 'New DRUM model',
            body: new NewModelBody(state.path, choices),
            buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })],
            focusNodeSelector: 'input'
          });
          if (!answer.button.accept || !answer.value) {
            return;
          }
          form = answer.value;
        }
        if (!form.path) {
          await showErrorMessage('New DRUM model', 'A folder name is needed.');
          return;
        }
        const path = form.path.startsWith('/') ? form.path.slice(1) : PathExt.join(state.path, form.path);
        const id = Notification.emit(`Creating the DRUM model ${path}…`, 'in-progress', { autoClose: false });
        try {
          const result = await newModel({ path, language: form.language, framework: form.framework });
          Notification.update({
            id,
            message: `Created ${result.path} (${result.files.length} files${result.built ? ', model trained' : ''})`,
            type: 'success',
            autoClose: 4000
          });
          await state.refreshModels();
          const hookFile = result.model && result.model.hook_file;
          if (hookFile) {
            await openFile(`${result.path}/${hookFile}`);
          }
          return result;
        } catch (error) {
          const e = error as DrumApiError;
          Notification.update({
            id,
            message: `New DRUM model failed: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}`,
            type: 'error',
            autoClose: false
          });
          return undefined;
        }
      }
    });

    // From the palette: into the current notebook.  From the launcher: into a new notebook in the
    // file browser's folder (the launcher has no notebook of its own).
    const insert = (source: string) => async (args: { isLauncher?: unknown }) => {
      let panel: NotebookPanel | null = args.isLauncher ? null : (notebooks?.currentWidget ?? null);
      if (!panel) {
        if (!args.isLauncher) {
          await showErrorMessage('drumnb', 'Open a notebook first.');
          return;
        }
        panel = await notebookFor(browser?.model.path ?? '', { fresh: true });
      }
      const cells = ensureLoadExt(panel) ? [source] : ['%load_ext drumnb', source];
      insertCells(panel, cells);
      shell.activateById(panel.id);
    };
    const enabled = (args: { isLauncher?: unknown }) => !!args.isLauncher || !!notebooks?.currentWidget;
    commands.addCommand(CommandIDs.insertScore, {
      label: args => (args['isLauncher'] ? 'Score cell' : 'Insert %%drum_score cell'),
      caption: 'A %%drum_score cell: score data with a model (adds %load_ext drumnb when missing)',
      icon: args => (args['isLauncher'] ? drumIcon : undefined),
      isEnabled: enabled,
      execute: insert(SCORE_CELL)
    });
    commands.addCommand(CommandIDs.insertHooks, {
      label: args => (args['isLauncher'] ? 'Hooks cell' : 'Insert %%drum_hooks cell'),
      caption: "A %%drum_hooks cell: write a model's custom.py (adds %load_ext drumnb when missing)",
      icon: args => (args['isLauncher'] ? drumIcon : undefined),
      isEnabled: enabled,
      execute: insert(HOOKS_CELL)
    });

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: CATEGORY });
      }
    }
    if (launcher) {
      const cards = [CommandIDs.newModel, CommandIDs.insertScore, CommandIDs.insertHooks];
      cards.forEach((command, rank) =>
        launcher.add({ command, category: LAUNCHER_CATEGORY, rank: rank + 1, args: { isLauncher: true } })
      );
    }
    if (statusBar) {
      const item = new DrumStatus(state, () => {
        void commands.execute(CommandIDs.openSidebar);
      });
      statusBar.registerStatusItem('drumnb:status', { item, align: 'left', rank: 50 });
    }
    if (browser) {
      state.setPath(browser.model.path);
      browser.model.pathChanged.connect((_, change) => state.setPath(change.newValue || ''));
    }
    state.start();
    document.body.dataset.drumnb = 'loaded';
  }
};

export default plugin;
