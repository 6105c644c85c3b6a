/** The scraper closed or broke its connection before the answer was written: not the exporter's fault. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
  constructor(cause?: Error) {
    super(cause ? `the client's connection failed (${cause.message})` : 'the client closed the connection', cause ? { cause } : undefined);
  }
}
