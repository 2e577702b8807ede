// A model of how an ALB listener rule's http-header and path-pattern conditions compare one pattern
// with a request's header or path.

/**
 * ALB http-header condition matching: the pattern must match the whole header value; `*` matches
 * any run of characters (also none), `?` exactly one; comparison ignores case.
 */
export function albHeaderMatches(pattern: string, value: string): boolean {
  return wildcardMatches(pattern.toLowerCase(), value.toLowerCase());
}

/**
 * ALB path-pattern condition matching: the same wildcards over the whole path (without the query
 * string), but case-sensitive.
 */
export function albPathMatches(pattern: string, path: string): boolean {
  return wildcardMatches(pattern, path);
}

function wildcardMatches(p: string, v: string): boolean {
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
