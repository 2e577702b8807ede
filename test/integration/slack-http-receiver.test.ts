// The ack of lanebot's Slack edge (src/slack/receiver/slack-http-receiver.ts) through a real Bolt
// app over HTTP: the answer goes with its length (not chunked), a second ack throws as Bolt's does,
// and a request no listener acks is answered 404.
import { request } from 'node:http';
import { App, ReceiverMultipleAckError } from '@slack/bolt';
import pino from 'pino';
import { MemoryRequestLedger } from '../../src/slack/receiver/request-ledger';
import { SlackHttpReceiver } from '../../src/slack/receiver/slack-http-receiver';
import { waitFor } from '../support/harness';
import { signSlackBody, slashCommandBody } from '../support/signed-request';

const SECRET = 'receiver-test-secret';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A signed slash command over node:http, to see the answer's head as sent (fetch hides framing). */
function postCommand(port: number, text: string): Promise<RawAnswer> {
  const body = slashCommandBody({ text, responseUrl: 'http://127.0.0.1:9/response' });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/slack/events', method: 'POST', headers: signSlackBody(body, SECRET) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the Slack edge acks', () => {
  let receiver: SlackHttpReceiver;
  let port: number;
  const secondAcks: unknown[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'silent' });
    receiver = new SlackHttpReceiver({
      signingSecret: SECRET,
      ledger: new MemoryRequestLedger(),
      logger,
      boltLogger: { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'info' as never, setName() {} },
      unacknowledgedMs: 100,
    });
    const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-test' }) });
    app.command('/lane', async ({ command, ack }) => {
      if (command.text === 'json') await ack({ response_type: 'ephemeral', text: 'Queued ✓' });
      else if (command.text === 'empty') await ack();
      else if (command.text === 'twice') {
        await ack();
        secondAcks.push(await ack().catch((error: unknown) => error));
      }
      // 'never': no ack at all
    });
    const server = await receiver.start(0);
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await receiver.stop();
  });

  it('sends a message ack as JSON with its length, in one piece rather than chunked', async () => {
    const answer = await postCommand(port, 'json');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['transfer-encoding']).toBeUndefined();
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
    expect(JSON.parse(answer.body)).toEqual({ response_type: 'ephemeral', text: 'Queued ✓' });
  });

  it('sends an empty ack as an empty 200', async () => {
    const answer = await postCommand(port, 'empty');
    expect(answer).toMatchObject({ status: 200, body: '' });
    expect(answer.headers['content-length']).toBe('0');
  });

  it('throws on a second ack, as Bolt does, and the first answer stands', async () => {
    const answer = await postCommand(port, 'twice');
    expect(answer).toMatchObject({ status: 200, body: '' });
    await waitFor('the second ack to settle', () => secondAcks.length > 0);
    expect(secondAcks).toHaveLength(1);
    expect(secondAcks[0]).toBeInstanceOf(ReceiverMultipleAckError);
  });

  it('answers 404 when no listener acks in time', async () => {
    const answer = await postCommand(port, 'never');
    expect(answer).toMatchObject({ status: 404, body: '' });
  });
});
