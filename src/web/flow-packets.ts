/**
 * GET /api/flows/:id/packets: a flow's packets as a pcapng download, read back from its capture
 * (the same extraction as `planewatch extract`). The first pass finds the frames before anything is
 * sent, so a capture that is gone answers 404 with the reason; the second streams them out.
 */
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { ByteSink } from '../export/byte-sink';
import { flowPacketsProblem, locateCapture } from '../export/capture-location';
import { copyFrames, findFlowFrames, findFlowPackets, packetsFileName, STORED_FLOW_SELECTOR_SQL, type StoredFlowSelector } from '../export/flow-packets';
import { captureFileWriter } from '../export/frame-writers';
import type { StatementCache } from './statements';

/** Writes each chunk (a buffer the writer reuses) to the response stream as a copy. */
class StreamSink implements ByteSink {
  constructor(private readonly out: PassThrough) {}
  write(bytes: Uint8Array): void {
    this.out.write(Buffer.from(bytes));
  }
  close(): void {
    this.out.end();
  }
}

/**
 * Sends a flow's packets as pcapng; `withSecrets`: with its connection's TLS secrets when its capture
 * holds them (only on a dashboard that decrypts: they give the plaintext, credentials and all).
 */
export async function sendFlowPackets(stmts: StatementCache, dbFile: string, id: number, reply: FastifyReply, withSecrets: boolean): Promise<unknown> {
  const row = stmts.one<StoredFlowSelector>(`${STORED_FLOW_SELECTOR_SQL} WHERE f.id = ?`, [id]);
  if (row === undefined) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'flow not found' });
  const where = locateCapture(row.captureFile, dbFile);
  const problem = flowPacketsProblem(where, row.firstFrame);
  if (problem !== null || !('file' in where)) {
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `${problem}: its packets cannot be read again` });
  }
  const { found, keyLog } = withSecrets ? await findFlowPackets(where.file, [row]) : { found: await findFlowFrames(where.file, [row]), keyLog: '' };
  const out = new PassThrough();
  const writer = captureFileWriter('pcapng', new StreamSink(out));
  writer.source(0, where.file);
  // The connection's own secrets, if its capture holds them: the download decrypts in Wireshark.
  if (keyLog !== '') writer.secrets(keyLog);
  copyFrames(where.file, found.frames, writer).then(
    () => writer.close(),
    (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))),
  );
  return reply
    .type('application/x-pcapng')
    .header('content-disposition', `attachment; filename="${packetsFileName(row.key)}"`)
    .header('x-planewatch-packets', String(found.frames.length))
    .send(out);
}
