/**
 * A small flag reader for the `ringwire` commands. node:util's parseArgs speaks
 * about itself ("ambiguous option value", "To specify an option argument starting
 * with a dash..."); people typing a command want to hear about their flag.
 * @module
 */
import { UsageError } from './errors.js';

/** One flag of a command. */
export interface FlagSpec {
  /** `string` takes a value (`--flag V` or `--flag=V`); `boolean` takes none. */
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The value as help writes it (`N`, `MS`, `PATH`), for the message about a missing one. */
  readonly value?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** What each flag of `S` reads as: true, a string, or every string given. */
export type FlagValues<S extends FlagSpecs> = {
  -readonly [K in keyof S]?: S[K] extends { type: 'boolean' } ? boolean : S[K] extends { multiple: true } ? string[] : string;
};

/**
 * Reads `argv` against `specs`. A value may start with a dash (`--workers -1` is
 * then refused by the flag's own check, in its own words), but not with two: a
 * flag followed by another flag is missing its value. Everything after `--` is a
 * positional argument.
 *
 * @throws UsageError naming the flag, and `ringwire COMMAND --help`.
 */
export function parseFlags<S extends FlagSpecs>(
  command: string,
  argv: readonly string[],
  specs: S,
): { values: FlagValues<S>; positionals: string[] } {
  const values: Record<string, boolean | string | string[]> = {};
  const positionals: string[] = [];
  const seeHelp = `see ringwire ${command} --help`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = flag.slice(2);
    const spec = flag.startsWith('--') && Object.hasOwn(specs, name) ? specs[name]! : undefined;
    if (spec === undefined) throw new UsageError(`unknown option ${flag} (${seeHelp})`);
    if (spec.type === 'boolean') {
      if (eq > 0) throw new UsageError(`${flag} takes no value (got ${arg})`);
      values[name] = true;
      continue;
    }
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new UsageError(`${flag} needs a value: ${flag} ${spec.value ?? 'VALUE'} (${seeHelp})`);
      }
      value = next;
      i++;
    }
    if (spec.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), value];
    else values[name] = value;
  }
  return { values: values as FlagValues<S>, positionals };
}

/** Whether `argv` asks for help (before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}
