/**
 * What the sidebar and the status bar show: the model folders under the file
 * browser's directory and the running servers, polled from the server extension.
 */
import { Signal, ISignal } from '@lumino/signaling';

import { DrumApiError, IModelFolder, IServer, listModels, listServers } from './api';

/** How often the servers are polled; after failed polls the wait doubles up to SERVER_POLL_MAX_MS. */
export const SERVER_POLL_MS = 3000;
export const SERVER_POLL_MAX_MS = 30000;

/** What the sidebar says while the Jupyter server does not answer. */
export const OFFLINE_MESSAGE = 'cannot reach the Jupyter server; retrying';

/** Whether a failed call means the Jupyter server (or the proxy before it) is out of reach, not an API error. */
export function unreachable(error: unknown): boolean {
  if (error instanceof DrumApiError) {
    return [0, 502, 503, 504].includes(error.status);
  }
  return true;   // ServerConnection.NetworkError: fetch itself failed
}

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
  private _started = false;
  private _changed = new Signal<this, void>(this);
  private _serversBusy: Promise<void> | null = null;
  private _serversAgain = false;
  private _modelsToken = 0;
  private _offline = false;
  private _modelsStale = false;
  private _failures = 0;

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
  /** Whether the last poll could not reach the Jupyter server (the lists shown are the last known). */
  get offline(): boolean {
    return this._offline;
  }
  /** The wait before the next poll: 3 s, doubled after each failed poll up to 30 s. */
  get pollDelay(): number {
    return Math.min(SERVER_POLL_MAX_MS, SERVER_POLL_MS * 2 ** this._failures);
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
      this._modelsStale = false;
    } catch (error) {
      if (token !== this._modelsToken) {
        return;
      }
      if (unreachable(error)) {
        this._modelsStale = true;   // read again when the server answers; keep what is shown
        this._offline = true;
      } else {
        this._modelsError = String((error as Error).message || error);
      }
    }
    this._changed.emit();
  }

  /** Poll the servers (a call during a poll makes one more poll after it, so that its answer is fresh). */
  async refreshServers(): Promise<void> {
    if (this._serversBusy) {
      this._serversAgain = true;
      return this._serversBusy;
    }
    this._serversBusy = (async () => {
      do {
        this._serversAgain = false;
        await this._pollServers();
      } while (this._serversAgain);
    })();
    try {
      await this._serversBusy;
    } finally {
      this._serversBusy = null;
    }
  }

  private async _pollServers(): Promise<void> {
    try {
      const answer = await listServers();
      this._servers = answer.servers;
      this._serversError = '';
      this._serversLoaded = true;
      this._failures = 0;
      if (this._offline) {
        this._offline = false;
        if (this._modelsStale) {
          void this.refreshModels();
        }
        if (this._timer !== null) {
          // back (a Refresh click, say) while a long backed-off wait runs: poll every 3 s again from now
          window.clearTimeout(this._timer);
          this._schedule();
        }
      }
    } catch (error) {
      this._failures = Math.min(this._failures + 1, 10);
      if (unreachable(error)) {
        this._offline = true;
      } else {
        this._serversError = String((error as Error).message || error);
      }
    }
    this._changed.emit();
  }

  async refresh(): Promise<void> {
    await Promise.all([this.refreshModels(), this.refreshServers()]);
  }

  /** Poll the servers now and then every 3 s (backing off while they cannot be reached; nothing while the tab is hidden). */
  start(): void {
    if (this._started) {
      return;
    }
    this._started = true;
    void this.refresh().then(() => this._schedule());
  }

  private _schedule(): void {
    if (!this._started) {
      return;
    }
    this._timer = window.setTimeout(async () => {
      this._timer = null;
      if (!document.hidden) {
        await this.refreshServers();
      }
      this._schedule();
    }, this.pollDelay);
  }

  dispose(): void {
    this._started = false;
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
    Signal.clearData(this);
  }
}
