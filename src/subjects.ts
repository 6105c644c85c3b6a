/**
 * NATS subject patterns: tokens separated by ".", "*" matches exactly one token,
 * ">" (last token only) matches one or more tokens.
 */
export type SubjectMatcher = (subject: string) => boolean;

/** Returns why `pattern` is not a valid subject pattern, or undefined when it is. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern === '') return 'is empty';
  if (/\s/.test(pattern)) return 'contains white space';
  const tokens = pattern.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '') return 'has an empty token (two dots in a row, or a leading or trailing dot)';
    if (token.length > 1 && (token.includes('*') || token.includes('>'))) {
      return `has "${token}": "*" and ">" must stand alone between dots`;
    }
    if (token === '>' && i !== tokens.length - 1) return 'has ">" before its last token';
  }
  return undefined;
}

function compile(pattern: string): SubjectMatcher {
  const tokens = pattern.split('.');
  if (!tokens.includes('*') && !tokens.includes('>')) return (subject) => subject === pattern;
  return (subject) => {
    const parts = subject.split('.');
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      if (token === '>') return parts.length > i;
      if (i >= parts.length) return false;
      if (token !== '*' && token !== parts[i]) return false;
    }
    return parts.length === tokens.length;
  };
}

/**
 * A subject is selected when it matches one of `include` (or `include` is empty) and none of
 * `exclude`. Patterns must have been checked with patternProblem.
 */
export function subjectFilter(include: readonly string[], exclude: readonly string[]): SubjectMatcher {
  const inc = include.map(compile);
  const exc = exclude.map(compile);
  if (inc.length === 0 && exc.length === 0) return () => true;
  return (subject) => (inc.length === 0 || inc.some((m) => m(subject))) && !exc.some((m) => m(subject));
}
