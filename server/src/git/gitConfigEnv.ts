/**
 * git configuration for one run of git, through its environment (GIT_CONFIG_COUNT and
 * GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n, git ≥ 2.31): the entries are added after any `env`
 * already has, so that several parts of the service can each set their own (a later entry wins
 * in git, as with repeated `-c`). Values from the service only, never from a request.
 */
export function withGitConfig<V extends string | undefined>(
  env: Record<string, V>,
  entries: Record<string, string>,
): Record<string, V | string> {
  const result: Record<string, V | string> = { ...env };
  let count = Number(env.GIT_CONFIG_COUNT ?? 0);
  if (!Number.isInteger(count) || count < 0) throw new Error(`GIT_CONFIG_COUNT is not a count: ${env.GIT_CONFIG_COUNT}`);
  for (const [key, value] of Object.entries(entries)) {
    result[`GIT_CONFIG_KEY_${count}`] = key;
    result[`GIT_CONFIG_VALUE_${count}`] = value;
    count++;
  }
  result.GIT_CONFIG_COUNT = String(count);
  return result;
}
