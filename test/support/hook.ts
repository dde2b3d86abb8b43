/** Asks the auth hook what nginx's auth_request would ask, as if for a client at `ip`. */
export async function askHook(
  serverUrl: string,
  options: { uri: string; method?: string; user?: string; token?: string; ip?: string },
): Promise<Response> {
  const headers: Record<string, string> = { "X-Original-URI": options.uri, "X-Original-Method": options.method ?? "GET" };
  if (options.user !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.token ?? ""}`).toString("base64")}`;
  }
  // As nginx's $proxy_add_x_forwarded_for sends it; believed only by a service with TRUST_PROXY=true.
  if (options.ip) headers["X-Forwarded-For"] = options.ip;
  return fetch(`${serverUrl}/api/v1/git/auth`, { headers });
}

export const readRefs = (fullName: string) => `/git/${fullName}.git/info/refs?service=git-upload-pack`;
export const pushRefs = (fullName: string) => `/git/${fullName}.git/info/refs?service=git-receive-pack`;
export const receivePack = (fullName: string) => `/git/${fullName}.git/git-receive-pack`;
