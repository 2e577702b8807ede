// EventBridge event pattern matching, for the part of the pattern language lanebot's rules use:
// nested fields, lists of exact values, and `prefix` / `suffix` filters. A pattern field matches
// when any value in its list matches; all fields of a pattern must match; a field absent from the
// event never matches. Any other filter (anything-but, numeric, exists, wildcard...) throws, so a
// template that starts using one cannot be "matched" by a checker that does not know it.

export type EventPattern = { [field: string]: EventPattern | PatternValue[] };
type PatternValue = string | number | boolean | null | { prefix: string } | { suffix: string };

export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return false;
  return Object.entries(pattern).every(([field, rule]) => {
    const value = (event as Record<string, unknown>)[field];
    if (value === undefined) return false;
    if (!Array.isArray(rule)) return matchesEventPattern(rule, value);
    // An array in the event matches when any of its items does.
    const candidates = Array.isArray(value) ? value : [value];
    return rule.some((filter) => candidates.some((candidate) => matchesValue(filter, candidate)));
  });
}

function matchesValue(filter: PatternValue, value: unknown): boolean {
  if (filter === null || typeof filter !== 'object') return filter === value;
  const [operator, ...others] = Object.keys(filter);
  if (others.length > 0) throw new Error(`event pattern: one operator per filter, got ${JSON.stringify(filter)}`);
  const operand = (filter as Record<string, unknown>)[operator!];
  if (typeof operand !== 'string') throw new Error(`event pattern: ${operator} takes a string here, got ${JSON.stringify(operand)}`);
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && value.startsWith(operand);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(operand);
    default:
      throw new Error(`event pattern: ${operator} is not supported by this checker`);
  }
}
