import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';

/** The most read of a password or token file. */
export const SECRET_FILE_MAX_BYTES = 4 * 1024;
/** The most read of a PEM file (certificates, a key, a CA bundle) or a web config file. */
export const PEM_OR_CONFIG_MAX_BYTES = 1024 * 1024;

/** Why a file was not read, as a phrase that follows its name: "is a FIFO (named pipe), not a regular file". */
export class FileReadError extends Error {
  override name = 'FileReadError';
}

export function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

function notRegular(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  const kind = stats.isDirectory()
    ? 'a directory'
    : stats.isFIFO()
      ? 'a FIFO (named pipe)'
      : stats.isCharacterDevice()
        ? 'a character device'
        : stats.isBlockDevice()
          ? 'a block device'
          : stats.isSocket()
            ? 'a socket'
            : 'a special file';
  return `is ${kind}, not a regular file`;
}

function check(stats: Stats, maxBytes: number): void {
  const problem = notRegular(stats) ?? (stats.size > maxBytes ? `is larger than ${sizeText(maxBytes)}, the most read of it` : undefined);
  if (problem) throw new FileReadError(problem);
}

/**
 * A regular file of at most maxBytes, read whole. A FIFO, a device or a directory is refused
 * before it is read, so /dev/zero cannot fill memory and a FIFO without a writer cannot hang the
 * start; a file that grows past the cap while it is read is refused too.
 */
export function readCappedFile(path: string, maxBytes: number): Buffer {
  const fail = (err: unknown): never => {
    throw new FileReadError(`cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  };
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    return fail(err);
  }
  check(stats, maxBytes);
  let fd: number;
  try {
    // O_NONBLOCK: were the path swapped for a FIFO since the stat, opening it must not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return fail(err);
  }
  try {
    check(fstatSync(fd), maxBytes);
    // Read until the end, not to the size the stat gave: some files (in /proc, say) report 0.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - length));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      length += n;
      if (length > maxBytes) throw new FileReadError(`is larger than ${sizeText(maxBytes)}, the most read of it`);
    }
    return Buffer.concat(chunks, length);
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    return fail(err);
  } finally {
    closeSync(fd);
  }
}
