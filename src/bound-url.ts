import type { AddressInfo, Server } from 'node:net';

/** The URL a listening server answers on, an IPv6 address in brackets. */
export function boundUrl(scheme: 'http' | 'https', server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}
