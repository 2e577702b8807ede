// A model of how an ALB listener rule's http-header condition compares one pattern with a header.

/**
 * ALB http-header condition matching: the pattern must match the whole header value; `*` matches
 * any run of characters (also none), `?` exactly one; comparison ignores case.
 */
export function albHeaderMatches(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  // Classic wildcard matching with backtracking to the last `*`.
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === v[vi])) {
      pi++;
      vi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}
