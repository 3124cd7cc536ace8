import { TEST_TOKEN } from './processes.ts';

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of any shape, read by assertions
  readonly text: string;
}

/** One request with the test admin token (unless `token` is given); JSON bodies are parsed. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string | null; headers?: Record<string, string>; contentType?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const token = options.token === undefined ? TEST_TOKEN : options.token;
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(`${base}${path}`, { method, headers, body: payload ?? null, signal: AbortSignal.timeout(options.timeoutMs ?? 20_000) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
