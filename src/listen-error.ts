/** A listener could not take its address; the message names the flag to change. */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(flag: string, address: { host: string; port: number }, cause: NodeJS.ErrnoException) {
    super(`cannot listen on ${address.host}:${address.port} (${cause.code ?? cause.message}): choose another ${flag} HOST:PORT`, { cause });
  }
}
