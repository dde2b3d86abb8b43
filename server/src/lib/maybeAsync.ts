/** A value that may already be at hand: the git auth hot path stays synchronous when it is. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `next(value)` at once when the value is at hand, else once it arrives. Every git request
 * is authorized from in-memory caches when they are warm; awaiting each read would cost a
 * promise and a trip through the microtask queue per read.
 */
export function andThen<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
