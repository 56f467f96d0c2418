/**
 * Calls of drumnb's Jupyter server extension (drumnb/labext): /drumnb/api/...
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IProblem {
  level: 'error' | 'warning' | 'info';
  message: string;
}

/** What load_model needs beyond the folder's own metadata (an inferred target type, labels). */
export interface ILoadKwargs {
  target_type?: string;
  positive_class_label?: string;
  negative_class_label?: string;
  class_labels?: string[];
}

/** A model folder as drumnb.tools.describe sees it (nothing loaded, no hook run). */
export interface IModelFolder {
  name: string;
  path: string;
  abs_path: string;
  metadata: string | null;
  model_name?: string | null;
  target_type: string | null;
  /** where the target type comes from */
  target_type_source: 'metadata' | 'labels' | 'artifact' | 'hooks' | 'assumed' | null;
  target_type_reason: string;
  /** binary: [negative, positive]; multiclass: in order */
  labels: string[] | null;
  labels_source: string | null;
  artifacts: string[];
  artifact_kind: string | null;
  predictor: string | null;
  language: string | null;
  hook_file: string | null;
  hooks: string[];
  problems: IProblem[];
  load_kwargs: ILoadKwargs;
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

/** The choices of "New DRUM model", from drumnb's framework registry. */
export function frameworks(): Promise<{ languages: string[]; frameworks: string[] }> {
  return requestAPI('frameworks');
}

export function info(): Promise<{ version: string; root_dir: string; labextension_built: boolean }> {
  return requestAPI('info');
}
