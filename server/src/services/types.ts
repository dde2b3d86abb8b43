/** Who is acting, as established by the authentication middleware. */
export interface Actor {
  id: number;
  username: string;
  isAdmin: boolean;
}

/** What a service may record about the request that reached it. */
export interface RequestMeta {
  ip: string | null;
}
