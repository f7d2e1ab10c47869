import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];

/** A fresh directory under os.tmpdir(), removed by {@link removeTempDirs}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rw-'));
  dirs.push(dir);
  return dir;
}

/** A socket path in a fresh temp directory (short: sun_path holds 107 bytes). */
export function tempSocketPath(name = 's.sock'): string {
  return join(tempDir(), name);
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
