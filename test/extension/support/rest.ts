/**
 * One REST call against the service under test, throwing on any non-2xx. fetch only (or one passed
 * in, e.g. trusting a test CA): the editor suite is bundled into the extension host, so this must
 * not import the server or its test support.
 */
export async function restCall<T>(
  serverUrl: string,
  method: string,
  route: string,
  apiKey?: string,
  body?: unknown,
  fetchFn: (input: string, init: RequestInit) => Promise<Response> = (input, init) => fetch(input, init),
): Promise<T> {
  const response = await fetchFn(`${serverUrl}/api/v1${route}`, {
    method,
    headers: { ...(apiKey && { authorization: `Bearer ${apiKey}` }), ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
