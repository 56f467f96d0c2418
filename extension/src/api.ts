/**
 * Calls of drumnb's Jupyter server extension (drumnb/labext): /drumnb/api/...
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IProblem {
  level: 'error' | 'warning';
  message: string;
}

export interface IModelFolder {
  name: string;
  path: string;
  abs_path: string;
  metadata: string | null;
  model_name?: string | null;
  target_type: string | null;
  target_type_source: 'metadata' | 'assumed' | null;
  artifacts: string[];
  predictor: string | null;
  language: string | null;
  hook_file: string | null;
  hooks: string[];
  problems: IProblem[];
}

export interface IHealth {
  ok: boolean;
  status: number | null;
  latency_ms: number | null;
  message: string;
}

export interface IServer {
  name: string;
  pid: number;
  port: number;
  host: string;
  url: string;
  proxy_url: string | null;
  model: string | null;
  code_dir: string | null;
  target_type: string | null;
  kernel_id: string | null;
  started: number | null;
  log: string | null;
  health: IHealth;
  memory_mb: number | null;
}

export interface INewModelRequest {
  path: string;
  language: string;
  framework?: string | null;
  name?: string | null;
}

export interface INewModelResult {
  folder: string;
  path: string;
  language: string;
  framework: string | null;
  files: string[];
  artifact: string | null;
  built: boolean;
  notes: string[];
  next: string[];
  model: IModelFolder;
}

/** An error answer of the server extension: its message and hint. */
export class DrumApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly hint?: string
  ) {
    super(message);
  }
}

export async function requestAPI<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'drumnb', 'api', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
  }
  if (!response.ok) {
    const message = (data && data.message) || response.statusText || `HTTP ${response.status}`;
    throw new DrumApiError(message, response.status, data && data.hint);
  }
  return data as T;
}

export function listModels(path = ''): Promise<{ root_dir: string; path: string; models: IModelFolder[] }> {
  return requestAPI(`models?path=${encodeURIComponent(path)}`);
}

export function listServers(): Promise<{ servers: IServer[] }> {
  return requestAPI('servers');
}

export function stopServer(pid: number): Promise<{ stopped: boolean; pid: number; name: string; signal: string }> {
  return requestAPI(`servers/${pid}/stop`, { method: 'POST' });
}

export function newModel(body: INewModelRequest): Promise<INewModelResult> {
  return requestAPI('models', { method: 'POST', body: JSON.stringify(body) });
}

export function info(): Promise<{ version: string; root_dir: string; labextension_built: boolean }> {
  return requestAPI('info');
}
