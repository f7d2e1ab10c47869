/** Prometheus text exposition in specs: values by series, and promtool's verdict. */
import { spawnSync } from 'node:child_process';

/**
 * Runs `promtool check metrics` on `text`. promtool is required, not optional:
 * Debian's prometheus package has it, and .ci/run installs it, so a missing one
 * fails the spec with what to install rather than skipping the check.
 */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error("promtool is not installed: install Debian's prometheus package (apt-get install prometheus), as .ci/run does");
  }
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The value of one series, written exactly as in the exposition (`name{a="b"}`); undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** GET `url`: status, content type and body. */
export async function scrape(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}
