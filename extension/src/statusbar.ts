/**
 * The status-bar item: "DRUM n" with a green (all healthy) or red (any unhealthy) dot.
 */
import { Widget } from '@lumino/widgets';

import { setText } from './dom';
import { DrumState, OFFLINE_MESSAGE } from './state';

export class DrumStatus extends Widget {
  private _state: DrumState;
  private _dot: HTMLElement;
  private _text: HTMLElement;

  constructor(state: DrumState, onClick: () => void) {
    super();
    this._state = state;
    this.id = 'drumnb-status';
    this.addClass('jp-drumnb-status');
    this._dot = document.createElement('span');
    this._dot.className = 'jp-drumnb-dot';
    this._text = document.createElement('span');
    this._text.className = 'jp-drumnb-status-text';
    this.node.append(this._dot, this._text);
    this.node.addEventListener('click', onClick);
    state.changed.connect(this._render, this);
    this._render();
  }

  dispose(): void {
    this._state.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const servers = this._state.servers;
    const n = servers.length;
    const bad = servers.filter(s => !(s.health && s.health.ok)).length;
    const offline = this._state.offline;
    const health = offline || this._state.serversError ? 'unknown' : n === 0 ? 'none' : bad ? 'bad' : 'ok';
    setText(this._text, `DRUM ${n}`);
    const dot = `jp-drumnb-dot jp-mod-${health}`;
    if (this._dot.className !== dot) {
      this._dot.className = dot;
    }
    const title = offline
      ? `DRUM: ${OFFLINE_MESSAGE} (click: DRUM sidebar)`
      : n === 0
        ? 'No drumnb server runs (click: DRUM sidebar)'
        : `${n} drumnb server${n > 1 ? 's' : ''}, ${bad ? `${bad} unhealthy` : 'all healthy'} (click: DRUM sidebar)`;
    const data: { [key: string]: string } = { count: String(n), health };
    for (const [key, value] of Object.entries(data)) {
      if (this.node.dataset[key] !== value) {
        this.node.dataset[key] = value;
      }
    }
    if (this.node.title !== title) {
      this.node.title = title;
    }
  }
}
