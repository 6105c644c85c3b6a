/**
 * The parts of a NATS connection (@nats-io/transport-node 3.x NatsConnection, or nats 2.x) the
 * probe uses to ask which account the connection's user is in.
 */
export interface ProbeConnection {
  request(subject: string, payload: Uint8Array, opts: { timeout: number }): Promise<{ data: Uint8Array }>;
}

/** Answered by nats-server 2.10 and later to any user allowed to publish to it. */
const USER_INFO = '$SYS.REQ.USER.INFO';

/** The account a server without configured accounts puts every client in; its queues carry no account label (the probe imports nothing of the exporter, so it says this itself). */
const DEFAULT_ACCOUNT = '$G';

const ASK_TIMEOUT_MS = 2000;

/**
 * The JetStream account of the connection's user, as the exporter labels its queues: the
 * account's name (its name tag under an operator; servers before 2.12 say only its id), or
 * undefined for the default account. Throws when the server does not say.
 */
export async function accountOf(connection: ProbeConnection): Promise<string | undefined> {
  const reply = await connection.request(USER_INFO, new Uint8Array(0), { timeout: ASK_TIMEOUT_MS });
  let answer: { data?: { account?: unknown; account_name?: unknown }; error?: { description?: unknown } };
  try {
    answer = JSON.parse(new TextDecoder().decode(reply.data)) as typeof answer;
  } catch {
    throw new Error(`${USER_INFO} answered with something other than JSON`);
  }
  const { account, account_name: name } = answer?.data ?? {};
  const found = typeof name === 'string' && name !== '' ? name : account;
  if (typeof found !== 'string' || found === '') {
    throw new Error(`${USER_INFO} named no account (${typeof answer?.error?.description === 'string' ? answer.error.description : 'no error given'})`);
  }
  return found === DEFAULT_ACCOUNT ? undefined : found;
}
