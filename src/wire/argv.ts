/**
 * The shape every child process's command line takes in src/wire/: one
 * options type, written by the parent with `toArgv` and read by the child
 * with `parseArgv`, so the two sides cannot disagree about a flag's name.
 *
 * @module
 */

import { parseStrictArgs } from "./strict_args.ts";

/** Thrown for bad command-line usage (exit code 2, `EXIT.usage`). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Writes and reads one process's options as command-line arguments. */
export interface ArgvCodec<T> {
  /** The arguments that {@linkcode ArgvCodec.parseArgv} reads back as `options`. */
  toArgv(options: T): string[];
  /** Reads the arguments; throws a UsageError naming a bad or missing flag. */
  parseArgv(argv: string[]): T;
}

/** An option table of string and boolean flags. */
export type FlagTable = Record<
  string,
  { type: "string" | "boolean"; short?: string }
>;

/**
 * Strict parsing (`node:util`'s `parseArgs` rules, strict_args.ts); its
 * errors (unknown flag, ...) as UsageErrors.
 */
export function parseFlags(
  what: string,
  argv: string[],
  options: FlagTable,
): {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
} {
  try {
    return parseStrictArgs(argv, options);
  } catch (error) {
    throw new UsageError(`${what}: ${(error as Error).message}`);
  }
}

/** The value of a string flag that must be present. */
export function requiredFlag(
  what: string,
  values: Record<string, string | boolean | undefined>,
  flag: string,
): string {
  const value = values[flag];
  if (typeof value !== "string" || value === "") {
    throw new UsageError(`${what}: option --${flag} is missing`);
  }
  return value;
}

/** A flag's value as an integer, or a UsageError naming the flag. */
export function integerFlag(what: string, flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) {
    throw new UsageError(
      `${what}: option --${flag} is "${value}": expected an integer`,
    );
  }
  return n;
}

/**
 * `--flag=value` when the value is set, else nothing (the `=` form: a value
 * that starts with a dash stays a value).
 */
export function optionalFlag(
  flag: string,
  value: string | number | undefined,
): string[] {
  return value === undefined ? [] : [`--${flag}=${value}`];
}
