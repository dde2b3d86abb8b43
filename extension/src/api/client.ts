/**
 * The Clarive REST client: one method per endpoint the extension uses, typed with the DTOs of
 * `@clarive/shared`. `fetch` is injected so unit tests need no network, and the optional log
 * callback receives method, path and status only: never bodies, keys or tokens.
 */
import type {
  AdminTokenDto,
  AdminTokenPage,
  CreateTokenRequest,
  CreatedTokenDto,
  ErrorBody,
  GitSettingsDto,
  LoginResponse,
  PatAccess,
  RepositoryDto,
  RotateTokenRequest,
  TokenDto,
  UpdateTokenRequest,
  UserDto,
} from "@clarive/shared";
import { codedError, describeCertificateProblem } from "../core/certificates";
import {
  ApiError,
  CaCertificateError,
  NotAClariveServerError,
  ServerCertificateError,
  ServerUnreachableError,
  unreachableReason,
} from "./errors";

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  fetch?: FetchFunction;
  log?: (line: string) => void;
  timeoutMs?: number;
  /** The CA file the transport trusts besides the defaults (`clarive.caCertificate`), to word certificate failures. */
  caFile?: () => string | undefined;
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = value.error;
  return typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string";
}

export class ClariveClient {
  private readonly fetchFn: FetchFunction;
  private readonly log: (line: string) => void;
  private readonly timeoutMs: number;
  private readonly caFile: () => string | undefined;

  constructor(
    readonly serverUrl: string,
    private readonly apiKey: string | undefined,
    options: ClientOptions = {},
  ) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.log = options.log ?? (() => undefined);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.caFile = options.caFile ?? (() => undefined);
  }

  /** The same server with another API key (after login). */
  withApiKey(apiKey: string): ClariveClient {
    return new ClariveClient(this.serverUrl, apiKey, {
      fetch: this.fetchFn,
      log: this.log,
      timeoutMs: this.timeoutMs,
      caFile: this.caFile,
    });
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchFn(`${this.serverUrl}/api/v1${path}`, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      if (error instanceof CaCertificateError) {
        this.log(`${method} ${path} -> not sent (${error.message})`);
        throw error;
      }
      const coded = codedError(error);
      const sentence = coded && this.serverUrl.startsWith("https:") ? this.certificateSentence(coded.code, coded.message) : undefined;
      if (coded && sentence) {
        this.log(`${method} ${path} -> TLS failure ${coded.code}`);
        throw new ServerCertificateError(this.serverUrl, coded.code, sentence);
      }
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
      const raw = cause ?? (error instanceof Error ? error.message : String(error));
      const name = error instanceof Error && error.name === "TimeoutError" ? "TimeoutError" : undefined;
      this.log(`${method} ${path} -> unreachable (${raw})`);
      // A sentence for the user ("nothing answers at that address…"), the raw reason for the log.
      throw new ServerUnreachableError(this.serverUrl, unreachableReason(name ?? coded?.code) ?? raw);
    }
    this.log(`${method} ${path} -> ${response.status}`);
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new NotAClariveServerError(this.serverUrl, response.status);
    }
    if (!response.ok) {
      if (isErrorBody(parsed)) throw new ApiError(response.status, parsed.error.code, parsed.error.message);
      throw new NotAClariveServerError(this.serverUrl, response.status);
    }
    return parsed as T;
  }

  private certificateSentence(code: string, message: string): string | undefined {
    let caFile: string | undefined;
    try {
      caFile = this.caFile();
    } catch {
      caFile = undefined;
    }
    return describeCertificateProblem(code, { serverUrl: this.serverUrl, ...(caFile && { caFile }) }, message);
  }

  login(username: string, password: string, label: string): Promise<LoginResponse> {
    return this.request<LoginResponse>("POST", "/auth/login", { username, password, label });
  }

  async logout(): Promise<void> {
    await this.request<unknown>("POST", "/auth/logout");
  }

  me(): Promise<UserDto> {
    return this.request<UserDto>("GET", "/me");
  }

  gitSettings(): Promise<GitSettingsDto> {
    return this.request<GitSettingsDto>("GET", "/settings/git");
  }

  updateGitSettings(settings: Partial<GitSettingsDto>): Promise<GitSettingsDto> {
    return this.request<GitSettingsDto>("PUT", "/settings/git", settings);
  }

  repositories(): Promise<RepositoryDto[]> {
    return this.request<RepositoryDto[]>("GET", "/repositories");
  }

  setRepositoryPatAccess(fullName: string, patAccess: PatAccess): Promise<RepositoryDto> {
    const path = fullName.split("/").map(encodeURIComponent).join("/");
    return this.request<RepositoryDto>("PATCH", `/repositories/${path}`, { patAccess });
  }

  tokens(): Promise<TokenDto[]> {
    return this.request<TokenDto[]>("GET", "/tokens");
  }

  token(id: number): Promise<TokenDto> {
    return this.request<TokenDto>("GET", `/tokens/${id}`);
  }

  createToken(request: CreateTokenRequest): Promise<CreatedTokenDto> {
    return this.request<CreatedTokenDto>("POST", "/tokens", request);
  }

  updateToken(id: number, request: UpdateTokenRequest): Promise<TokenDto> {
    return this.request<TokenDto>("PATCH", `/tokens/${id}`, request);
  }

  /** A new secret for the same token; the old one keeps working for `graceMinutes` (0 to 1440). */
  rotateToken(id: number, graceMinutes: number): Promise<CreatedTokenDto> {
    return this.request<CreatedTokenDto>("POST", `/tokens/${id}/rotate`, { graceMinutes } satisfies RotateTokenRequest);
  }

  async deleteToken(id: number): Promise<void> {
    await this.request<unknown>("DELETE", `/tokens/${id}`);
  }

  /** Administrators: one page of every user's tokens, newest first (`cursor`: the previous page's nextCursor). */
  allTokens(limit = 200, cursor?: string): Promise<AdminTokenPage> {
    const query = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    return this.request<AdminTokenPage>("GET", `/admin/tokens?${query}`);
  }

  /** Administrators: deactivate or reactivate anyone's token. */
  setAnyTokenActive(id: number, active: boolean): Promise<AdminTokenDto> {
    return this.request<AdminTokenDto>("PATCH", `/admin/tokens/${id}`, { active });
  }

  /** Administrators: remove anyone's token. */
  async deleteAnyToken(id: number): Promise<void> {
    await this.request<unknown>("DELETE", `/admin/tokens/${id}`);
  }
}
