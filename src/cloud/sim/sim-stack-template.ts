// CloudFormation's checks of a template body before it looks at what the template holds: not empty,
// well-formed YAML or JSON, at least one resource. A template that fails them is refused (the
// port's `rejected`) before any stack operation starts.
import { parseDocument } from 'yaml';
import { sha256 } from './sim-account';

/**
 * Verdicts of templateProblem by template hash. Parsing a real template takes milliseconds of the
 * event loop the bot shares with its Slack receiver, and the same few templates come back on every
 * deploy; a verdict never changes for the same text.
 */
const templateVerdicts = new Map<string, string | undefined>();
const MAX_TEMPLATE_VERDICTS = 100;

/** CloudFormation's checks before it looks at a template's content, plus "at least one resource". */
export function templateProblem(body: string): string | undefined {
  const hash = sha256(body);
  if (templateVerdicts.has(hash)) return templateVerdicts.get(hash);
  const verdict = checkTemplate(body);
  if (templateVerdicts.size >= MAX_TEMPLATE_VERDICTS) templateVerdicts.clear();
  templateVerdicts.set(hash, verdict);
  return verdict;
}

function checkTemplate(body: string): string | undefined {
  if (body.trim() === '') {
    return "1 validation error detected: Value '' at 'templateBody' failed to satisfy constraint: Member must have length greater than or equal to 1";
  }
  // YAML is a superset of JSON. Intrinsic-function tags (!Ref, !Sub…) are warnings to this parser, not errors.
  const doc = parseDocument(body, { logLevel: 'silent' });
  const error = doc.errors[0];
  if (error) {
    const where = error.linePos ? ` (line ${error.linePos[0].line}, column ${error.linePos[0].col})` : '';
    return `Template format error: YAML not well-formed.${where}`;
  }
  const parsed: unknown = doc.toJS();
  const resources = typeof parsed === 'object' && parsed !== null ? (parsed as { Resources?: unknown }).Resources : undefined;
  if (typeof resources !== 'object' || resources === null || Object.keys(resources).length === 0) {
    return 'Template format error: At least one Resources member must be defined.';
  }
  return undefined;
}
