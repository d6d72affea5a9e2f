/**
 * Strict command-line parsing of string and boolean flags: what
 * `parseArgs` of `node:util` does with `strict: true, allowPositionals:
 * true` (same tokens, same values, same error messages), without loading
 * Deno's Node layer. The supervisor's first step and the serving process's
 * first modules parse command lines before anything else; `node:util` cost
 * them ~5 ms of start-up each (issue 17). strict_args_test.ts compares the
 * two on every form of argument.
 *
 * @module
 */

/** One flag: its value type and an optional one-letter alias. */
export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
}

/** The parsed values: a string or `true` per flag given, by flag name. */
export type FlagValues<T extends Record<string, FlagSpec>> = {
  [K in keyof T]?: T[K]["type"] extends "string" ? string : boolean;
};

/** A flag as written: its name, its value, how it was spelled. */
interface Token {
  name: string;
  rawName: string;
  value: string | undefined;
  /** The value was part of the argument (`--a=v`, `-av`), not the next one. */
  inline: boolean;
}

/**
 * Parses `args` against `options`; throws a TypeError with `node:util`'s
 * message for an unknown flag, a missing or ambiguous value, or a value
 * given to a boolean flag.
 */
export function parseStrictArgs<T extends Record<string, FlagSpec>>(
  args: readonly string[],
  options: T,
): { values: FlagValues<T>; positionals: string[] } {
  const own = (name: string): FlagSpec | undefined =>
    Object.hasOwn(options, name) ? options[name] : undefined;
  const longOf = (short: string): string =>
    Object.keys(options).find((k) => options[k]!.short === short) ?? short;
  const isString = (name: string) => own(name)?.type === "string";
  const values: Record<string, string | boolean> = Object.create(null);
  const positionals: string[] = [];
  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest.shift()!;
    let token: Token;
    if (arg === "--") {
      positionals.push(...rest);
      break;
    } else if (arg.length === 2 && arg[0] === "-" && arg[1] !== "-") {
      const name = longOf(arg[1]!);
      const value = isString(name) ? rest.shift() : undefined;
      token = { name, rawName: arg, value, inline: false };
    } else if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
      if (!isString(longOf(arg[1]!))) {
        // A group: -abc is -a -b -c; a string flag inside takes the rest.
        const expanded: string[] = [];
        for (let i = 1; i < arg.length; i++) {
          const short = arg[i]!;
          if (!isString(longOf(short)) || i === arg.length - 1) {
            expanded.push(`-${short}`);
          } else {
            expanded.push(`-${arg.slice(i)}`);
            break;
          }
        }
        rest.unshift(...expanded);
        continue;
      }
      const name = longOf(arg[1]!);
      token = {
        name,
        rawName: `-${arg[1]}`,
        value: arg.slice(2),
        inline: true,
      };
    } else if (arg.length > 2 && arg.startsWith("--")) {
      const eq = arg.indexOf("=", 3);
      if (eq < 0) {
        const name = arg.slice(2);
        const value = isString(name) ? rest.shift() : undefined;
        token = { name, rawName: arg, value, inline: false };
      } else {
        const name = arg.slice(2, eq);
        token = {
          name,
          rawName: `--${name}`,
          value: arg.slice(eq + 1),
          inline: true,
        };
      }
    } else {
      positionals.push(arg);
      continue;
    }
    check(token, own(token.name));
    if (token.name !== "__proto__") {
      values[token.name] = token.value ?? true;
    }
  }
  return { values: values as FlagValues<T>, positionals };
}

/** `node:util`'s strict checks of one flag, in its order. */
function check(token: Token, spec: FlagSpec | undefined): void {
  if (spec === undefined) {
    throw new TypeError(
      `Unknown option '${token.rawName}'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- ${
        JSON.stringify(token.rawName)
      }`,
    );
  }
  const shown = spec.short
    ? `-${spec.short}, --${token.name}`
    : `--${token.name}`;
  if (spec.type === "string" && token.value === undefined) {
    throw new TypeError(`Option '${shown} <value>' argument missing`);
  }
  if (spec.type === "boolean" && token.value !== undefined) {
    throw new TypeError(`Option '${shown}' does not take an argument`);
  }
  const value = token.value;
  if (
    !token.inline && value !== undefined && value.length > 1 && value[0] === "-"
  ) {
    const example = token.rawName.startsWith("--")
      ? `'${token.rawName}=-XYZ'`
      : `'--${token.name}=-XYZ' or '${token.rawName}-XYZ'`;
    throw new TypeError(
      `Option '${token.rawName}' argument is ambiguous.\nDid you forget to specify the option argument for '${token.rawName}'?\nTo specify an option argument starting with a dash use ${example}.`,
    );
  }
}
