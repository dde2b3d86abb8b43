import type { CreatedTokenDto, LoginResponse, RepositoryDto } from "@clarive/shared";
import { ADMIN_PASSWORD, type TestServer } from "./testServer";

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface ErrorReply {
  error: { code: string; message: string; details?: unknown };
}

/** A REST client bound to one API key (or none), speaking JSON like any client would. */
export class Client {
  constructor(
    readonly baseUrl: string,
    readonly apiKey?: string,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const response = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        ...(this.apiKey && { authorization: `Bearer ${this.apiKey}` }),
        ...(body !== undefined && { "content-type": "application/json" }),
        ...headers,
      },
      ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  get = <T = unknown>(path: string) => this.request<T>("GET", path);
  post = <T = unknown>(path: string, body?: unknown) => this.request<T>("POST", path, body);
  put = <T = unknown>(path: string, body?: unknown) => this.request<T>("PUT", path, body);
  patch = <T = unknown>(path: string, body?: unknown) => this.request<T>("PATCH", path, body);
  delete = <T = unknown>(path: string) => this.request<T>("DELETE", path);
}

export async function login(server: TestServer, username: string, password: string): Promise<Client> {
  const reply = await new Client(server.url).post<LoginResponse>("/auth/login", { username, password });
  if (reply.status !== 201) throw new Error(`login of ${username} failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return new Client(server.url, reply.body.apiKey);
}

export const loginAdmin = (server: TestServer): Promise<Client> => login(server, "admin", ADMIN_PASSWORD);

/** Creates a user through the API and returns a client signed in as them. */
export async function createUser(admin: Client, server: TestServer, username: string, isAdmin = false): Promise<Client> {
  const password = `${username}-password`;
  const reply = await admin.post("/users", { username, password, isAdmin });
  if (reply.status !== 201) throw new Error(`creating ${username} failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return login(server, username, password);
}

export async function createRepository(admin: Client, project: string, name: string): Promise<RepositoryDto> {
  const reply = await admin.post<RepositoryDto>("/repositories", { project, name });
  if (reply.status !== 201) throw new Error(`creating ${project}/${name} failed: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

export async function setPatAuth(admin: Client, enabled: boolean): Promise<void> {
  const reply = await admin.put("/settings/git", { patAuthEnabled: enabled });
  if (reply.status !== 200) throw new Error(`settings failed: ${JSON.stringify(reply.body)}`);
}

export async function createToken(
  client: Client,
  body: Partial<{ description: string; expiresInDays: number; expiresAt: string; repositories: string[]; permission: string }> = {},
): Promise<CreatedTokenDto> {
  const reply = await client.post<CreatedTokenDto>("/tokens", {
    description: "test token",
    permission: "read-write",
    ...(body.expiresAt === undefined && { expiresInDays: 30 }),
    ...body,
  });
  if (reply.status !== 201) throw new Error(`token creation failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** The same secret with its last character changed (to another one, whatever it was). */
export const alterLastCharacter = (secret: string): string => secret.slice(0, -1) + (secret.endsWith("x") ? "y" : "x");
