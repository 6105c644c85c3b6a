/** Where a listener's address came from: its flag, or the flag's environment variable. */
export interface ListenInput {
  flag: string;
  env: string;
  fromEnv: boolean;
  /** The probe listener, which one host's exporters each need a port of, and which can be turned off. */
  probe?: true;
}

/** A listener could not take its address; the message names where the address came from and what to change. */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(input: ListenInput, address: { host: string; port: number }, cause: NodeJS.ErrnoException) {
    const what = input.probe ? " for the probe listener (workers' reports)" : '';
    const change = input.fromEnv
      ? `, the address ${input.env} gives${what}: set ${input.env} to another HOST:PORT (or give ${input.flag} HOST:PORT, which wins over it)`
      : `${what}: choose another ${input.flag} HOST:PORT (env ${input.env})`;
    const off = input.probe
      ? `, or turn it off with ${input.fromEnv ? `${input.env}=off` : `${input.flag} off`} if no worker reports to this exporter; each exporter on one host needs a probe port of its own`
      : '';
    super(`cannot listen on ${address.host}:${address.port} (${cause.code ?? cause.message})${change}${off}`, { cause });
  }
}
