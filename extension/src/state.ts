/**
 * What the sidebar and the status bar show: the model folders under the file
 * browser's directory and the running servers, polled from the server extension.
 */
import { Signal, ISignal } from '@lumino/signaling';

import { IModelFolder, IServer, listModels, listServers } from './api';

export const SERVER_POLL_MS = 3000;

export class DrumState {
  private _models: IModelFolder[] = [];
  private _servers: IServer[] = [];
  private _path = '';
  private _rootDir = '';
  private _modelsError = '';
  private _modelsLoaded = false;
  private _serversLoaded = false;
  private _serversError = '';
  private _timer: number | null = null;
  private _changed = new Signal<this, void>(this);
  private _serversBusy = false;
  private _modelsToken = 0;

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get models(): IModelFolder[] {
    return this._models;
  }
  get servers(): IServer[] {
    return this._servers;
  }
  /** The directory (relative to the server's root) whose model folders are listed. */
  get path(): string {
    return this._path;
  }
  get rootDir(): string {
    return this._rootDir;
  }
  /** Whether a first answer came (before it, the lists are unknown rather than empty). */
  get modelsLoaded(): boolean {
    return this._modelsLoaded;
  }
  get serversLoaded(): boolean {
    return this._serversLoaded;
  }
  get modelsError(): string {
    return this._modelsError;
  }
  get serversError(): string {
    return this._serversError;
  }
  get healthy(): boolean {
    return this._servers.every(s => s.health && s.health.ok);
  }

  setPath(path: string): void {
    if (path !== this._path) {
      this._path = path;
      void this.refreshModels();
    }
  }

  async refreshModels(): Promise<void> {
    const token = ++this._modelsToken;
    try {
      const answer = await listModels(this._path);
      if (token !== this._modelsToken) {
        return;
      }
      this._models = answer.models;
      this._rootDir = answer.root_dir;
      this._modelsError = '';
      this._modelsLoaded = true;
    } catch (error) {
      this._modelsError = String((error as Error).message || error);
    }
    this._changed.emit();
  }

  async refreshServers(): Promise<void> {
    if (this._serversBusy) {
      return;
    }
    this._serversBusy = true;
    try {
      const answer = await listServers();
      this._servers = answer.servers;
      this._serversError = '';
      this._serversLoaded = true;
    } catch (error) {
      this._serversError = String((error as Error).message || error);
    } finally {
      this._serversBusy = false;
    }
    this._changed.emit();
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshModels(), this.refreshServers()]);
  }

  start(): void {
    if (this._timer !== null) {
      return;
    }
    void this.refresh();
    this._timer = window.setInterval(() => {
      if (!document.hidden) {
        void this.refreshServers();
      }
    }, SERVER_POLL_MS);
  }

  dispose(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
    Signal.clearData(this);
  }
}
