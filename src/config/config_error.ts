/**
 * Errors for bad project configuration (cortex.yaml, .env, the project
 * directory). Every issue knows its file and line; several are reported at once.
 *
 * @module
 */

/** One problem in a configuration file. */
export interface ConfigIssue {
  /** The file as the user named it, e.g. "examples/iris/cortex.yaml". */
  file: string;
  /** 1-based line, or 0 when the issue concerns the whole file. */
  line: number;
  /** Dotted field path inside the API ("autoscaling.max_replicas"), or "". */
  field: string;
  /**
   * The full sentence, field first, e.g.
   * `api "iris": autoscaling.max_replicas is 0: must be at least 1`.
   */
  message: string;
}

/** Formats an issue as `file:line: message` (no line when it is 0). */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}` : issue.file;
  return `${where}: ${issue.message}`;
}

/**
 * Thrown when configuration is invalid. `message` holds one formatted issue
 * per line, in file order.
 */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    const sorted = [...issues].sort((a, b) =>
      a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1
    );
    super(sorted.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = sorted;
  }
}

/** Collects issues for one file; `throwIfAny()` ends validation. */
export class IssueList {
  readonly file: string;
  readonly issues: ConfigIssue[] = [];

  constructor(file: string) {
    this.file = file;
  }

  /** Records an issue; `message` is the complete sentence. */
  add(line: number, field: string, message: string): void {
    this.issues.push({ file: this.file, line, field, message });
  }

  /** Throws a ConfigError when at least one issue was recorded. */
  throwIfAny(): void {
    if (this.issues.length > 0) throw new ConfigError(this.issues);
  }
}
